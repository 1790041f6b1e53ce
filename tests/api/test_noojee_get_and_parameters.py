"""Noojee's methods as its own clients call them: GET behind the noojeeAcceptGet setting (system and
per tenant), tech-prefixed extensions, SIP auto-answer headers, phoneCaption, query-string
parameters on POST with an empty form body, and CallManagementAPI/answer."""

from __future__ import annotations

import contextlib
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from switchboard.calls.drivers.base import SipHeader
from switchboard.calls.drivers.simulated import SimulatedPbx
from switchboard.settings import Settings
from switchboard.web.request_line import mend_request_line
from tests.support.access_world import build_world, make_account
from tests.support.ami_server import AmiServer
from tests.support.asterisk import AMI_SECRET, ServerThread, asterisk_settings, pbx_ready, wait_until
from tests.support.calls import CM, dial, noojee, wait_state
from tests.support.clients import make_client
from tests.support.console import csrf_of, signed_in_as
from tests.support.server import running_server

SETTINGS = "/api/v1/settings/"
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"}  # as Noojee's client sends
PREFIXES = ("SIP/", "PJSIP/", "IAX2/", "Local/", "DAHDI/", "sip/", "Skinny/")


def _simulator(api: TestClient) -> SimulatedPbx:
    driver = api.app.state.services.calls.driver  # type: ignore[attr-defined]
    assert isinstance(driver, SimulatedPbx)
    return driver


def _set_system(api: TestClient, on: bool) -> None:
    changed = api.patch(SETTINGS, json={"noojeeAcceptGet": on})
    assert changed.status_code == 200, changed.text
    assert changed.json()["noojeeAcceptGet"] is on


def _set_tenant(api: TestClient, tenant: str, value: bool | None) -> None:
    changed = api.patch(f"/api/v1/tenants/{tenant}/", json={"noojeeAcceptGet": value})
    assert changed.status_code == 200, changed.text
    assert changed.json()["noojeeAcceptGet"] is value


def _get_list(api: TestClient, headers: dict[str, str]) -> int:
    got = api.get("/servicemanager/rest/CampaignAPI/getCampaignList", headers={**headers, **FORM})
    if got.status_code == 405:
        assert got.headers["allow"] == "POST"
        assert got.json()["Code"] == -405
        assert "noojeeAcceptGet" in got.json()["Message"]
    return got.status_code


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_get_follows_the_system_setting_and_the_tenant_override(api: TestClient, global_key: str) -> None:
    world = build_world(api, global_key)
    assert api.get(SETTINGS).json()["noojeeAcceptGet"] is False  # the seed's default: POST only
    assert api.get("/api/v1/tenants/t1/").json()["noojeeAcceptGet"] is None
    t1, system = world.headers["user_key"], world.headers["system"]
    assert (_get_list(api, system), _get_list(api, t1)) == (405, 405)
    # Unauthenticated GET: the key is checked first (the answer depends on its tenant).
    assert api.get(f"{CM}/stop", headers={"Authorization": ""}).status_code == 401
    _set_system(api, True)
    assert (_get_list(api, system), _get_list(api, t1)) == (200, 200)
    # GET answers exactly what POST answers.
    posted = api.post("/servicemanager/rest/CampaignAPI/getCampaignList", headers=t1)
    assert api.get("/servicemanager/rest/CampaignAPI/getCampaignList", headers=t1).json() == posted.json()
    _set_tenant(api, "t1", False)  # t1 overrides the system setting; the global key follows the system
    assert (_get_list(api, system), _get_list(api, t1)) == (200, 405)
    _set_system(api, False)
    _set_tenant(api, "t1", True)
    assert (_get_list(api, system), _get_list(api, t1)) == (405, 200)
    assert _get_list(api, world.headers["tenant_admin"]) == 200
    _set_tenant(api, "t1", None)  # back to following the system setting
    assert _get_list(api, t1) == 405
    # Other verbs stay refused; unknown methods stay 404.
    assert api.put(f"{CM}/stop").status_code == 405
    assert api.get("/servicemanager/rest/CampaignAPI/explode").status_code == 404


def test_get_runs_call_control_like_post(api: TestClient, global_key: str) -> None:
    build_world(api, global_key)
    _set_system(api, True)
    unique_id = dial(api, extenOrUniqueId="SIP/102", number="0390001234", tenantId="t1")
    # As the published client sends recording start/stop: GET, everything in the query string.
    start = api.get(f"{CM}/start", params={"extenOrUniqueId": "SIP/102", "tenantId": "t1"}, headers=FORM)
    assert (start.status_code, start.json()["Code"], start.json()["UniqueId"]) == (200, 0, unique_id)
    stop = api.get(f"{CM}/stop", params={"extenOrUniqueId": unique_id}, headers=FORM)
    assert (stop.status_code, stop.json()["Code"]) == (200, 0)
    assert api.get(f"{CM}/stop", params={"extenOrUniqueId": unique_id}).json()["Code"] == -409
    document = api.get("/api/v1/openapi.json").json()["paths"][f"{CM}/stop"]
    assert set(document) == {"get", "post"}
    assert set(document["get"]["responses"]) == set(document["post"]["responses"])


def test_a_change_reaches_every_worker(settings: Settings, global_key: str) -> None:
    with make_client(settings) as one, make_client(settings) as two:
        for client in (one, two):
            client.headers["Authorization"] = f"Bearer {global_key}"
        world = build_world(one, global_key)
        assert _get_list(two, world.headers["user_key"]) == 405  # two has read (and cached) "off"
        _set_system(one, True)
        wait_until(lambda: _get_list(two, world.headers["user_key"]) == 200, "the other worker's setting")
        _set_tenant(one, "t1", False)
        wait_until(lambda: _get_list(two, world.headers["user_key"]) == 405, "the other worker's override")


def test_the_settings_reject_a_non_boolean(api: TestClient, global_key: str) -> None:
    build_world(api, global_key)
    assert api.patch(SETTINGS, json={"noojeeAcceptGet": "maybe"}).status_code == 400
    assert api.patch("/api/v1/tenants/t1/", json={"noojeeAcceptGet": "maybe"}).status_code == 400


def test_every_tech_prefix_on_every_method(api: TestClient, global_key: str) -> None:
    build_world(api, global_key)
    for prefix in PREFIXES:
        unique_id = dial(api, extenOrUniqueId=f"{prefix}102", number="0390001234", tenantId="t1")
        for method in ("start", "pause", "resume", "stop"):
            answer = noojee(api, method, extenOrUniqueId=f"{prefix}102", tenantId="t1")
            assert (answer.status_code, answer.json()["UniqueId"]) == (200, unique_id), (prefix, method)
        events = noojee(api, "subscribe", exten=f"{prefix}102", tenantId="t1", timeOut=0).json()
        assert [e["CallData"]["uniqueCallId"] for e in events["Data"]["102"]] == [unique_id]
        assert noojee(api, "hangup", extenOrUniqueId=f"{prefix}102", tenantId="t1").json()["Code"] == 0
        wait_state(api, unique_id, "Hungup")
    # A unique id has a dot and no slash; a slash with no extension after it is neither.
    assert noojee(api, "hangup", extenOrUniqueId="SIP/", tenantId="t1").status_code == 400


@pytest.mark.parametrize(
    ("sent", "header"),
    [
        ("Call-info:answer-after=0", SipHeader("Call-info", "answer-after=0")),  # Yealink
        ("Call-Info:\\; answer-after=0", SipHeader("Call-Info", "; answer-after=0")),  # Snom, Grandstream
        ("Alert-Info: Ring Answer", SipHeader("Alert-Info", "Ring Answer")),  # Polycom
        ("true", None),
        ("false", None),
    ],
)
def test_auto_answer_headers_and_the_caption_reach_the_pbx(
    api: TestClient, global_key: str, sent: str, header: SipHeader | None
) -> None:
    build_world(api, global_key)
    # As the client sends it: every parameter in the query string, an empty form body.
    answer = api.post(
        f"{CM}/dial",
        params={
            "extenOrUniqueId": "SIP/102",
            "number": "0390001234",
            "tenantId": "t1",
            "autoAnswer": sent,
            "phoneCaption": "Call to Jane Citizen",
        },
        content=b"",
        headers=FORM,
    )
    assert answer.status_code == 200, answer.text
    placed = _simulator(api).originated[answer.json()["SessionID"]]
    assert (placed.answer_header, placed.caller_name) == (header, "Call to Jane Citizen")


def test_a_malformed_auto_answer_is_a_clear_400(api: TestClient, global_key: str) -> None:
    build_world(api, global_key)
    for bad in ("maybe", "Call-Info", "Call Info: x", "X-A: line\r\nbreak"):
        refused = noojee(
            api, "dial", extenOrUniqueId="102", number="0390001234", tenantId="t1", autoAnswer=bad
        )
        assert refused.status_code == 400, bad
        assert "autoAnswer" in refused.json()["Message"]


def test_parameters_from_the_query_string_and_the_form_body(api: TestClient, global_key: str) -> None:
    build_world(api, global_key)
    form = api.post(
        f"{CM}/dial",
        content=b"extenOrUniqueId=SIP%2F102&number=0390001234&tenantId=t1&phoneCaption=A+B",
        headers=FORM,
    )
    assert form.status_code == 200, form.text
    assert _simulator(api).originated[form.json()["SessionID"]].caller_name == "A B"
    # Values that arrive not URL-encoded: a raw space, a lone '%'.
    raw = api.post(f"{CM}/dial?extenOrUniqueId=102&number=0390001234&tenantId=t1&phoneCaption=Jane%Q Citizen")
    assert raw.status_code == 200, raw.text


def test_answer_on_the_simulated_pbx(settings: Settings, global_key: str) -> None:
    with make_client(settings.model_copy(update={"sim_answer_seconds": 600.0})) as api:
        api.headers["Authorization"] = f"Bearer {global_key}"
        world = build_world(api, global_key)
        ringing = api.post(
            "/api/v1/simulator/calls/", json={"to": "101", "from": "0390009999", "tenantId": "t1"}
        )
        unique_id = ringing.json()["uniqueId"]
        assert ringing.json()["state"] == "Ringing"
        # Another tenant's key, and an end user for another's phone: the identical 404.
        other = api.post(
            "/api/v1/simulator/calls/", json={"to": "103", "from": "0390009998", "tenantId": "t1"}
        )
        assert (
            noojee(api, "answer", world.headers["user"], uniqueId=other.json()["uniqueId"]).status_code == 404
        )
        assert (
            noojee(api, "answer", world.headers["tenant_admin"], uniqueId="1700000000.1").status_code == 404
        )
        assert noojee(api, "answer").status_code == 400
        assert noojee(api, "answer", uniqueId=unique_id, exten="SIP/103").status_code == 404  # not that phone
        answered = noojee(
            api,
            "answer",
            world.headers["user"],
            uniqueId=unique_id,
            exten="SIP/101",
            answerString="Call-info:answer-after=0",
        )
        assert (answered.status_code, answered.json()["Code"], answered.json()["UniqueId"]) == (
            200,
            0,
            unique_id,
        )
        wait_state(api, unique_id, "Connected")
        again = noojee(api, "answer", uniqueId=unique_id)
        assert (again.status_code, again.json()["Code"]) == (409, -409)
        by_phone = noojee(api, "answer", world.headers["tenant_admin"], exten="PJSIP/103")
        assert by_phone.json()["UniqueId"] == other.json()["uniqueId"]
        # The native counterpart: the same service, the call as it is now.
        third = api.post(
            "/api/v1/simulator/calls/", json={"to": "102", "from": "0390009997", "tenantId": "t1"}
        )
        native = api.post(
            f"/api/v1/calls/{third.json()['uniqueId']}/answer/", headers=world.headers["user_key"]
        )
        assert (native.status_code, native.json()["state"]) == (200, "Connected")
        assert api.post(f"/api/v1/calls/{third.json()['uniqueId']}/answer/").status_code == 409


@contextlib.contextmanager
def _asterisk(
    settings: Settings, global_key: str, channel: str = "PJSIP/{extension}", build: bool = True
) -> Iterator[tuple[TestClient, ServerThread]]:
    """The app on the Asterisk driver whose channels are `channel`, and the test PBX it logs in to
    (a PBX of its own; the database is the test's)."""
    pbx = ServerThread(AmiServer(username="switchboard", secret=AMI_SECRET))
    pbx.call(pbx.server.start)
    configured = asterisk_settings(settings, pbx.server.port).model_copy(update={"ami_channel": channel})
    try:
        with make_client(configured) as api:
            api.headers["Authorization"] = f"Bearer {global_key}"
            if build:  # the world is in the database already when an earlier app built it
                build_world(api, global_key)
            wait_until(lambda: pbx_ready(api), "the AMI login")
            yield api, pbx
    finally:
        pbx.close()


def test_answer_and_headers_through_ami(settings: Settings, global_key: str) -> None:
    with _asterisk(settings, global_key) as (api, pbx):
        unique_id = pbx.call(lambda: pbx.server.inject_inbound("103", "+61390000001"))
        wait_state(api, unique_id, "Ringing")
        answered = noojee(
            api, "answer", uniqueId=unique_id, exten="SIP/103", answerString="Alert-Info: Ring Answer"
        )
        assert answered.json() == {"Code": 0, "Message": "OK", "UniqueId": unique_id}
        assert pbx.server.notifies == [("103", ["Event=talk"])]
        wait_state(api, unique_id, "Connected")
        # The phone's INVITE gets the client's header; the caption is the CallerID name.
        dial(
            api,
            extenOrUniqueId="SIP/102",
            number="0390001234",
            callerId="102",
            autoAnswer="Call-Info:\\; answer-after=0",
            phoneCaption='Jane "JC" <Citizen>',
        )
        originate = next(a for a in pbx.server.actions if a.get("Action") == "Originate")
        assert originate["Variable"] == "PJSIP_HEADER(add,Call-Info)=; answer-after=0"
        assert originate["CallerID"] == '"Jane JC Citizen" <102>'


def test_a_phone_that_cannot_be_answered_remotely(settings: Settings, global_key: str) -> None:
    with _asterisk(settings, global_key) as (api, pbx):
        unique_id = pbx.call(lambda: pbx.server.inject_inbound("103", "+61390000001"))
        wait_state(api, unique_id, "Ringing")
        pbx.server.answer_on_talk = False
        pbx.server.channels[unique_id].name = "IAX2/103-00000001"  # not a PJSIP phone
        refused = noojee(api, "answer", uniqueId=unique_id)
        assert refused.status_code == 409
        assert "cannot be answered remotely" in refused.json()["Message"]
        assert pbx.server.notifies == []


def test_chan_sip_takes_its_header_and_other_channels_none(
    settings: Settings, global_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    channels = (("SIP/{extension}", "SIPADDHEADER01=Call-info: answer-after=0"), ("IAX2/{extension}", None))
    for first, (channel, expected) in enumerate(channels):
        with _asterisk(settings, global_key, channel, build=first == 0) as (api, pbx):
            dial(api, extenOrUniqueId="102", number="0390001234", autoAnswer="Call-info:answer-after=0")
            originate = next(a for a in pbx.server.actions if a.get("Action") == "Originate")
            assert originate.get("Variable") == expected
    assert "take no SIP headers" in caplog.text


def test_the_console_settings_page_turns_get_on_and_off(
    api: TestClient, global_key: str, settings: Settings
) -> None:
    world = build_world(api, global_key)
    make_account(api, "root2", "system")
    with signed_in_as(settings, "root2") as browser:
        page = browser.get("/console/settings/")
        assert 'name="accept" value="on"\n' in page.text  # unchecked: the default
        token = csrf_of(page.text)
        saved = browser.post("/console/settings/noojee-get", data={"accept": "on", "csrf": token})
        assert saved.status_code == 200  # followed to the page again
        assert 'name="accept" value="on" checked' in saved.text
        wait_until(lambda: _get_list(api, world.headers["user_key"]) == 200, "GET on in the API's worker")
        browser.post("/console/settings/noojee-get", data={"csrf": token})  # unchecked: off
    assert api.get(SETTINGS).json()["noojeeAcceptGet"] is False
    wait_until(lambda: _get_list(api, world.headers["user_key"]) == 405, "GET off in the API's worker")


@pytest.mark.parametrize(
    ("line", "mended"),
    [
        (b"GET /x?teamName=Sales East&a=1 HTTP/1.1", b"GET /x?teamName=Sales%20East&a=1 HTTP/1.1"),
        (b"POST /x?a=b  c HTTP/1.0", b"POST /x?a=b%20%20c HTTP/1.0"),
        (b"GET /x?a=b HTTP/1.1", b"GET /x?a=b HTTP/1.1"),
        (b"not a request line at all", b"not a request line at all"),
    ],
)
def test_a_request_line_with_raw_spaces_is_mended(line: bytes, mended: bytes) -> None:
    assert mend_request_line(line) == mended


@pytest.mark.server
def test_the_server_takes_raw_spaces_in_the_url(database_url: str, global_key: str, tmp_path: Path) -> None:
    """As Noojee's client sends an unencoded value: the request line has more than two spaces."""
    with running_server(tmp_path / "data", database_url, "--insecure-http") as (port, _):
        request = (
            "POST /servicemanager/rest/CampaignAPI/getCampaignList"
            f"?apiKey={global_key}&x=Sales East HTTP/1.1\r\n"
            "Host: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded; charset=UTF-8\r\n"
            "Content-Length: 0\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
            for _ in range(2):  # the second request on the same connection is mended too
                connection.sendall(request)
                status, body = _read_response(connection)
                assert status.startswith(b"HTTP/1.1 200"), (status, body)
                assert body.startswith(b'{"Code":0')


def _read_response(connection: socket.socket) -> tuple[bytes, bytes]:
    """One HTTP/1.1 response with a Content-Length: its status line and its body."""
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = connection.recv(65536)
        assert chunk, received
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length: (\d+)", head).group(1))  # type: ignore[union-attr]
    while len(body) < length:
        body += connection.recv(65536)
    return head.split(b"\r\n")[0], body
