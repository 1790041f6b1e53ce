"""Percent-encoded credential names and values: redacted in every logged value, as the server
decodes them (`api%4Bey=sbu%5F...` authenticates, so it must never be logged in clear either)."""

from __future__ import annotations

import logging
from urllib.parse import quote

import httpx2
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from switchboard.logs import redact
from tests.support.access_world import build_world
from tests.support.log_lines import emitted
from tests.support.secrets_scan import find_secrets

NOOJEE_LIST = "/servicemanager/rest/CampaignAPI/getCampaignList"
# Names the server decodes to apiKey (each authenticates), then look-alikes it does not take as
# a credential but that name one all the same (redacted too).
ACTING_NAMES = ["api%4Bey", "api%4bey", "%61piKey", "%61%70%69%4B%65%79", "apiKey"]
OTHER_NAMES = ["APIKEY", "api%6bey", "API%5FKEY", "api-key", "x%2Dapi%2Dkey", "api%254Bey"]


def _encodings(key: str) -> list[str]:
    """The key as sent: in clear, its underscore escaped, every character escaped (upper and
    lower case hex), and escaped twice."""
    every = "".join(f"%{ord(char):02X}" for char in key)
    return [key, key.replace("_", "%5F"), every, every.lower(), quote(key.replace("_", "%5F"))]


def _leaks(lines: list[str], key: str) -> list[str]:
    body = key[4:]  # the random part: in no form may it reach a line
    return [line for line in lines if list(find_secrets(line)) or body in line or body.lower() in line]


def _sent_and_logged(
    caplog: pytest.LogCaptureFixture, client: TestClient, method: str, target: str
) -> tuple[httpx2.Response, list[str]]:
    """The response to one request, and the lines it logged (as production writes them)."""
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="switchboard"):
        response = client.request(method, target)
    return response, emitted(caplog)


@pytest.fixture
def user_key(api: TestClient, global_key: str) -> str:
    build_world(api, global_key)
    made = api.post("/api/v1/accounts/ta1/api-keys/", json={"name": "crm"})
    assert made.status_code == 201, made.text
    key: str = made.json()["key"]
    return key


@pytest.mark.parametrize("name", ACTING_NAMES + OTHER_NAMES)
def test_a_key_under_an_encoded_name_never_reaches_the_access_log(
    anonymous: TestClient, user_key: str, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    for value in _encodings(user_key):
        response, lines = _sent_and_logged(caplog, anonymous, "POST", f"{NOOJEE_LIST}?{name}={value}")
        if name in ACTING_NAMES and value in _encodings(user_key)[:4]:
            assert response.status_code == 200, (name, value, response.text)  # it authenticated
        assert any("getCampaignList" in line for line in lines)
        assert _leaks(lines, user_key) == [], (name, value)


@pytest.mark.parametrize(
    "where",
    [
        "/api/v1/tenants/{key}/",
        "/api/v1/accounts/ta1/api-keys/{key}/",
        "/servicemanager/rest/CampaignAPI/{key}",
        "/api/v1/tenants/?cursor={key}",
        "/api/v1/tenants/?q=a%26apiKey%3D{key}",
    ],
)
def test_a_key_in_the_raw_target_is_scrubbed_in_every_encoding(
    api: TestClient, user_key: str, caplog: pytest.LogCaptureFixture, where: str
) -> None:
    for value in _encodings(user_key):
        _, lines = _sent_and_logged(caplog, api, "GET", where.format(key=value))
        assert lines
        assert _leaks(lines, user_key) == [], (where, value)


def test_redaction_judges_names_decoded_and_leaves_other_values_alone() -> None:
    for name in ACTING_NAMES + OTHER_NAMES:
        assert redact(f"GET /x?a=1&{name}=s3cr3t-value&b=2") == f"GET /x?a=1&{name}=[REDACTED]&b=2"
    assert redact("GET /x?cursor=abc&limit=5&q=api%20key") == "GET /x?cursor=abc&limit=5&q=api%20key"


def _redact_with_every_pattern(text: str) -> str:
    """redact() as it was before its shortcuts: every pattern tried on every text."""
    from switchboard import logs

    text = logs._PAIR.sub(logs._redact_pair, text)
    text = logs._HEADER_SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}{logs.REDACTED}", text)
    text = logs._RUN.sub(logs._redact_encoded, text)
    return logs.KEY_PATTERN.sub(logs.REDACTED, text)


# Each pattern's trigger (a separator, "%", "_"), the names it looks for and a key's parts, in any order.
_KEY_BODY = "0123456789" * 3 + "abcdefgh"
_TEXT_PARTS = ["=", ":", ",", "%", "_", "%5F", " ", "?", "&", "'", "\u212a", "\u0131", "apiKey", "api%4Bey"]
_TEXT_PARTS += ["Authorization", "x-api-key", "X-API-KEY", "sbu_", _KEY_BODY, "sbu_" + _KEY_BODY]


@hypothesis_settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(_TEXT_PARTS), max_size=10).map("".join))
def test_redaction_shortcuts_change_no_result(text: str) -> None:
    assert redact(text) == _redact_with_every_pattern(text)
