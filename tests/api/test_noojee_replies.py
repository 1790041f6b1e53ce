"""Noojee replies as Noojee's own Java client parses them: local date-times, four statuses, the
reference's subscribe shape, the subscribe wait cap and a wait ended by the client leaving."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from starlette.testclient import TestClient

from switchboard.calls import service
from switchboard.calls.drivers.base import CallUpdate
from switchboard.calls.models import CALL_STATES, ENDED_STATES
from switchboard.db.engine import Database
from switchboard.noojee.replies import NOOJEE_STATUSES, noojee_datetime, noojee_status
from switchboard.web.state import AppServices
from tests.support.access_world import build_world
from tests.support.calls import dial, noojee, wait_numbered
from tests.support.contact_centre import team_campaigns
from tests.support.noojee_wire import (
    parse_datetime,
    parse_dial,
    parse_entities,
    parse_list,
    parse_simple,
    parse_subscribe,
)

RA = "/servicemanager/rest/RecordingAPI"
CA = "/servicemanager/rest/CampaignAPI"
SYDNEY = ZoneInfo("Australia/Sydney")


def local(iso: str, zone: ZoneInfo = SYDNEY) -> str:
    return datetime.fromisoformat(iso).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def subscribe(api: TestClient, **params: Any) -> tuple[int, dict[str, list[dict[str, Any]]]]:
    answer = noojee(api, "subscribe", **params)
    assert answer.status_code == 200, answer.text
    reply = parse_subscribe(answer.content)  # as the client reads it; the tests compare its strings
    return reply.seq, orjson.loads(answer.content)["Data"]


def follow(api: TestClient, exten: str, seq: int, until: int) -> list[dict[str, Any]]:
    """Events on `exten` from `seq` until `until` of them have ended (Hungup), each reply parsed."""
    events: list[dict[str, Any]] = []
    deadline = time.monotonic() + 10
    while sum(e["CallData"]["status"] == "Hungup" for e in events) < until:
        assert time.monotonic() < deadline, events
        seq, data = subscribe(api, exten=exten, tenantId="t1", lastSequenceNumber=seq, timeOut=2)
        events += data[exten]
    return events


def services(api: TestClient) -> AppServices:
    found: AppServices = api.app.state.services  # type: ignore[attr-defined]
    return found


# -- the rules, without the app ----------------------------------------------------------------------


def test_the_strict_parser_refuses_what_the_client_cannot_read() -> None:
    assert parse_datetime("") is None
    assert parse_datetime("2026-12-07 13:05") == datetime(2026, 12, 7, 13, 5)
    for accepted in ("2026-12-07 13:05:09", "2026/12/07 13:05:09", "2026-12-07T13:05:09"):
        assert parse_datetime(accepted) == datetime(2026, 12, 7, 13, 5, 9)
    for refused in ("2026-12-07T13:05:09.123456+00:00", "2026-12-07T13:05:09Z", "2026-12-07", None):
        with pytest.raises(AssertionError):
            parse_datetime(refused)
    event = {
        "Code": 0,
        "CallID": 1,
        "CallData": {
            "canAnswer": False,
            "callerId": "",
            "uniqueCallId": "1.1",
            "secondaryUniqueCallId": "",
            "callStartTime": "2026-12-07 13:05:09",
            "isQueueCall": False,
            "isClickToDialCall": True,
            "inbound": False,
            "status": "Connected",
        },
    }
    assert parse_subscribe({"Code": 0, "seq": 5, "Data": {"410": [event]}}).seq == 5
    for field, bad in (("status", "Busy"), ("callStartTime", "2026-12-07T13:05:09.5"), ("inbound", "false")):
        broken = {**event, "CallData": {**event["CallData"], field: bad}}
        with pytest.raises(AssertionError, match=field):
            parse_subscribe({"Code": 0, "seq": 5, "Data": {"410": [broken]}})
    with pytest.raises(AssertionError, match="Start"):
        parse_list({"Code": 0, "Message": "OK", "entities": [{"Start": "2026-12-07T13:05:09+00:00"}]})


def test_one_format_in_the_tenant_zone_and_every_state_one_of_four() -> None:
    moment = datetime(2026, 1, 15, 23, 30, 5, 123456, tzinfo=UTC)
    assert noojee_datetime(moment, "") == "2026-01-15 23:30:05"
    assert noojee_datetime(moment, "Australia/Sydney") == "2026-01-16 10:30:05"  # summer: +11
    assert noojee_datetime(moment.replace(month=7), "Australia/Sydney") == "2026-07-16 09:30:05"  # +10
    assert noojee_datetime(moment.isoformat(), "Australia/Sydney") == "2026-01-16 10:30:05"
    assert noojee_datetime(moment.replace(tzinfo=None), "") == "2026-01-15 23:30:05"  # naive is UTC
    assert noojee_datetime(None, "Australia/Sydney") == noojee_datetime("", "") == ""
    assert noojee_datetime(moment, "Not/AZone") == "2026-01-15 23:30:05"  # unknown: UTC, never a 500
    for state in CALL_STATES:
        status, cause = noojee_status(state)
        assert status in NOOJEE_STATUSES
        assert (status == "Hungup") == (state in ENDED_STATES)
        assert bool(cause) == (state in ENDED_STATES)
    assert noojee_status("Busy") == ("Hungup", "busy")
    assert noojee_status("No Answer") == ("Hungup", "no answer")
    assert noojee_status("Congestion") == ("Hungup", "congestion")
    assert noojee_status("Failed") == ("Hungup", "failed")


# -- through the app ------------------------------------------------------------------------------------


def test_every_call_reply_parses_in_the_tenant_time_zone(api: TestClient, global_key: str) -> None:
    build_world(api, global_key)
    refused = api.patch("/api/v1/tenants/t1/", json={"timeZone": "Mars/Olympus_Mons"})
    assert refused.status_code == 400, refused.text
    changed = api.patch("/api/v1/tenants/t1/", json={"timeZone": "Australia/Sydney"})
    assert changed.status_code == 200
    assert changed.json()["timeZone"] == "Australia/Sydney"

    answer = noojee(api, "dial", extenOrUniqueId="SIP/102", number="0390001234", tenantId="t1")
    unique_id = parse_dial(answer.content)
    dial(api, extenOrUniqueId="101", number="0390001235", tenantId="t2")  # a UTC tenant's call
    call = api.get(f"/api/v1/calls/{unique_id}/").json()
    while call["state"] != "Connected":
        call = api.get(f"/api/v1/calls/{unique_id}/").json()
    assert call["startedAt"].endswith("+00:00")  # the native API keeps ISO 8601

    seq, data = subscribe(api, exten="102", tenantId="t1", lastSequenceNumber=0, timeOut=0)
    (live,) = data["102"]
    assert live["CallData"]["callStartTime"] == local(call["startedAt"])
    assert live["CallData"]["status"] == "Connected"
    assert live["CallID"] > 0
    _, utc_data = subscribe(api, exten="101", tenantId="t2", lastSequenceNumber=0, timeOut=0)
    (utc_call,) = utc_data["101"]
    utc_started = api.get(f"/api/v1/calls/{utc_call['CallData']['uniqueCallId']}/").json()["startedAt"]
    assert utc_call["CallData"]["callStartTime"] == local(utc_started, ZoneInfo("UTC"))

    for method in ("start", "stop"):
        reply = parse_simple(noojee(api, method, extenOrUniqueId=unique_id, tag="t-1").content)
        assert reply.code == 0, reply
    metadata = parse_list(
        api.post(f"{RA}/retrieveMetaDataByUniqueId", params={"uniqueId": unique_id}).content
    )
    (leg,) = metadata
    recording = api.get(f"/api/v1/recordings/{leg['CallRecordId']}/").json()
    assert leg["Start"] == local(recording["startedAt"])
    assert parse_list(api.post(f"{RA}/retrieveMetaData", params={"tag": "t-1"}).content) == metadata

    assert parse_simple(noojee(api, "hangup", extenOrUniqueId=unique_id).content).code == 0
    (ended,) = [e for e in follow(api, "102", seq, until=1) if e["CallData"]["status"] == "Hungup"]
    assert ended["CallData"]["hangupCause"] == "normal"
    assert ended["CallData"]["callStartTime"] == local(call["startedAt"])


def test_campaign_api_replies_parse(api: TestClient, global_key: str) -> None:
    built = team_campaigns(api, global_key)
    api.patch("/api/v1/tenants/t1/", json={"timeZone": "Australia/Sydney"})
    templates = parse_entities(api.post(f"{CA}/getCampaignTemplateList").content)
    assert {t.id for t in templates} == set(built["templates"].values())
    campaigns = parse_entities(api.post(f"{CA}/getCampaignList").content)
    assert len(campaigns) == 6
    agent = parse_entities(api.post(f"{CA}/getCampaignList", headers=built["key"]).content)
    assert {c.id for c in agent} == set(built["campaigns"]["TA"])


def test_busy_and_unanswered_calls_end_hungup_with_their_cause(
    api: TestClient, global_key: str, db: Database
) -> None:
    build_world(api, global_key)
    seq, _ = subscribe(api, exten="102", tenantId="t1", lastSequenceNumber=0, timeOut=0)
    for unique_id, end in (("1700000000.1", "Busy"), ("1700000000.2", "No Answer")):
        for state in ("Ringing", end):
            with db.transaction() as session:
                assert service.apply_update(
                    session, CallUpdate(unique_id, "102", state, "inbound", "0390009999", "0390009999")
                )
    wait_numbered(db)  # numbered by the app's sequencer (its check for strays)
    events = follow(api, "102", seq, until=2)
    assert [(e["CallData"]["status"], e["CallData"]["hangupCause"]) for e in events] == [
        ("Ringing", ""),
        ("Hungup", "busy"),
        ("Ringing", ""),
        ("Hungup", "no answer"),
    ]
    assert [e["CallData"]["canAnswer"] for e in events] == [True, False, True, False]


def test_subscribe_waits_at_most_the_system_setting(api: TestClient, global_key: str) -> None:
    build_world(api, global_key)
    assert api.get("/api/v1/settings/").json()["noojeeSubscribeMaxWaitSeconds"] == 4
    for bad in (-1, 301, "soon"):
        refused = api.patch("/api/v1/settings/", json={"noojeeSubscribeMaxWaitSeconds": bad})
        assert refused.status_code in (400, 422), refused.text
    seq, _ = subscribe(api, exten="103", tenantId="t1", lastSequenceNumber=0, timeOut=0)
    started = time.monotonic()
    # The Java client's read timeout is 5 s: asked for 30, the answer comes before it gives up.
    _, data = subscribe(api, exten="103", tenantId="t1", lastSequenceNumber=seq, timeOut=30)
    assert 3.9 <= time.monotonic() - started < 5
    assert data == {"103": []}
    changed = api.patch("/api/v1/settings/", json={"noojeeSubscribeMaxWaitSeconds": 0.5})
    assert changed.status_code == 200
    assert changed.json()["noojeeSubscribeMaxWaitSeconds"] == 0.5
    started = time.monotonic()
    subscribe(api, exten="103", tenantId="t1", lastSequenceNumber=seq, timeOut=30)
    assert 0.4 <= time.monotonic() - started < 2


def test_a_client_that_leaves_ends_its_wait(api: TestClient, global_key: str) -> None:
    build_world(api, global_key)
    assert api.patch("/api/v1/settings/", json={"noojeeSubscribeMaxWaitSeconds": 30}).status_code == 200
    seq, _ = subscribe(api, exten="103", tenantId="t1", lastSequenceNumber=0, timeOut=0)
    subscriptions = services(api).subscriptions
    query = f"exten=103&tenantId=t1&lastSequenceNumber={seq}&timeOut=30"

    async def leave_while_waiting() -> tuple[int, float]:
        left = asyncio.Event()
        sent: list[dict[str, Any]] = []
        messages = [{"type": "http.request", "body": b"", "more_body": False}]

        async def receive() -> dict[str, Any]:
            if messages:
                return messages.pop()
            await left.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "https",
            "path": "/servicemanager/rest/CallManagementAPI/subscribe",
            "raw_path": b"/servicemanager/rest/CallManagementAPI/subscribe",
            "root_path": "",
            "query_string": query.encode(),
            "headers": [(b"host", b"testserver"), (b"authorization", f"Bearer {global_key}".encode())],
            "client": ("127.0.0.1", 50001),
            "server": ("testserver", 443),
        }
        request = asyncio.create_task(api.app(scope, receive, send))  # type: ignore[arg-type]
        deadline = time.monotonic() + 5
        while subscriptions.waiting == 0:
            assert time.monotonic() < deadline, "the subscribe never waited"
            assert not request.done(), sent
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)
        assert not request.done()  # still waiting: nothing happened on 103
        left.set()
        started = time.monotonic()
        await asyncio.wait_for(request, 3)
        return subscriptions.waiting, time.monotonic() - started

    waiting, seconds = api.portal.call(leave_while_waiting)  # type: ignore[union-attr]
    assert waiting == 0  # the waiter is released
    assert seconds < 1, seconds  # at once, not after the 30 s it asked for
