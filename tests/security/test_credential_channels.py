"""Repeated credentials and well-formed non-credentials: refused with a plain 401, never "one wins"."""

from __future__ import annotations

import httpx2
import pytest
from starlette.testclient import TestClient

from switchboard.access import keys

NOOJEE_LIST = "/servicemanager/rest/CampaignAPI/getCampaignList"
NATIVE = "/api/v1/tenants/"
NON_CREDENTIAL_KINDS = [kind for kind in keys.KeyKind if kind is keys.KeyKind.WEBHOOK_SECRET]


def _refused(response: httpx2.Response) -> None:
    assert response.status_code in (400, 401), response.text
    assert "more than one credential" in response.text


def _bogus() -> str:
    """A well-formed key that nobody holds."""
    return keys.generate_key(keys.KeyKind.USER)


@pytest.mark.parametrize(
    "query",
    [
        "apiKey={bogus}&apiKey={key}",  # the last one used to act
        "apiKey={key}&apiKey={bogus}",
        "apiKey={key}&apiKey={key}",  # repeated, even identical, is not one credential
    ],
)
def test_a_repeated_api_key_query_parameter_is_refused(
    anonymous: TestClient, global_key: str, query: str
) -> None:
    target = f"{NOOJEE_LIST}?{query.format(bogus=_bogus(), key=global_key)}"
    _refused(anonymous.post(target))
    _refused(anonymous.get(target))


@pytest.mark.parametrize("header", ["Authorization", "X-API-Key"])
def test_a_repeated_credential_header_is_refused(anonymous: TestClient, global_key: str, header: str) -> None:
    def value(key: str) -> str:
        return f"Bearer {key}" if header == "Authorization" else key

    for pair in ([global_key, _bogus()], [_bogus(), global_key], [global_key, global_key]):
        headers = [(header, value(key)) for key in pair]
        _refused(anonymous.get(NATIVE, headers=headers))
        _refused(anonymous.post(NOOJEE_LIST, headers=headers))


def test_a_form_api_key_beside_another_credential_is_refused(anonymous: TestClient, global_key: str) -> None:
    bogus = _bogus()
    _refused(anonymous.post(NOOJEE_LIST, params={"apiKey": global_key}, data={"apiKey": bogus}))
    _refused(anonymous.post(NOOJEE_LIST, params={"apiKey": bogus}, data={"apiKey": global_key}))
    _refused(anonymous.post(NOOJEE_LIST, headers={"X-API-Key": global_key}, data={"apiKey": bogus}))
    _refused(anonymous.post(NOOJEE_LIST, content=f"apiKey={global_key}&apiKey={global_key}", headers=_FORM))
    # One credential, by whichever single channel, still acts.
    assert anonymous.post(NOOJEE_LIST, data={"apiKey": global_key}).status_code == 200
    assert anonymous.post(NOOJEE_LIST, params={"apiKey": global_key}).status_code == 200


_FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize("kind", NON_CREDENTIAL_KINDS)
def test_a_well_formed_key_of_a_kind_that_is_no_credential_is_a_counted_401(
    anonymous: TestClient, global_key: str, kind: keys.KeyKind
) -> None:
    # Made offline: the right prefix, length and checksum, e.g. a webhook signing secret.
    secret = keys.generate_key(kind)
    assert keys.is_well_formed(secret)
    budget = anonymous.app.state.services.settings.auth_failures_per_minute  # type: ignore[attr-defined]
    for target in (NATIVE, NOOJEE_LIST):
        response = anonymous.post(target, headers={"Authorization": f"Bearer {secret}"})
        assert response.status_code == 401, response.text
    for _ in range(budget - 2):
        assert anonymous.get(NATIVE, headers={"X-API-Key": secret}).status_code == 401
    # Each was counted as a failed authentication: the address's budget is spent.
    assert anonymous.get(NATIVE, headers={"X-API-Key": secret}).status_code == 429
