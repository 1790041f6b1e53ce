"""Noojee's own published clients, replayed: every call of the Java client 1.4.3 and its wget scripts,
as sent (reference noojee-client-wire.md), parsed as strictly as the client parses them."""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx2
import orjson
import pytest
from starlette.testclient import TestClient

from switchboard.cli.demo import load_demo
from switchboard.db.engine import Database
from switchboard.settings import Settings
from tests.support.calls import wait_numbered, wait_state
from tests.support.clients import make_client
from tests.support.factories import created
from tests.support.noojee_client import (
    ACCEPT_GET_FIELD,
    ACCEPT_GET_PATH,
    YEALINK_AUTO_ANSWER,
    JavaError,
    encoded,
    send,
    send_raw,
    target,
)
from tests.support.noojee_wire import (
    Event,
    Simple,
    WireError,
    parse_datetime,
    parse_dial,
    parse_entities,
    parse_rosters,
    parse_simple,
    parse_statistics,
    parse_subscribe,
)
from tests.support.noojee_world import (
    AGENT,
    TEAM,
    ReplayWorld,
    build_replay_world,
    connected_call,
    hang_up_everything,
    inject_ringing,
    put_on_shift,
    recording_call,
    recording_state,
    tenant_key,
)
from tests.support.server import running_server

CREDENTIALS = ("global", "user", "tenant")  # the tenant key last: it is new in issue 18


@pytest.fixture
def pbx_api(settings: Settings, global_key: str) -> Iterator[TestClient]:
    """A client holding the global key, on a simulated PBX whose calls ring until answered."""
    ringing = settings.model_copy(update={"sim_ring_seconds": 0.0, "sim_answer_seconds": 3600.0})
    with make_client(ringing) as client:
        client.headers["Authorization"] = f"Bearer {global_key}"
        yield client


@dataclass
class Attempt:
    """One replayed call: the app, the world, and what its preparation left (a call's unique id)."""

    api: TestClient
    world: ReplayWorld
    credential: str
    call: str = ""
    state: dict[str, Any] = field(default_factory=dict)


def nothing(attempt: Attempt) -> None:
    return None


def ringing(attempt: Attempt) -> None:
    attempt.call = inject_ringing(attempt.api)


def connected(attempt: Attempt) -> None:
    attempt.call = connected_call(attempt.api)


def recording(attempt: Attempt) -> None:
    attempt.call = recording_call(attempt.api)


def rostered(attempt: Attempt) -> None:
    if not attempt.world.extra.get("rostered"):
        put_on_shift(attempt.api, TEAM, AGENT)
        attempt.world.extra["rostered"] = True


def allocation_of_campaign(attempt: Attempt) -> None:
    """As the scripts chain them: the allocation id from getAllocationList (global key, POST)."""
    key = attempt.world.keys["global"]
    body = send(attempt.api, "POST", "CampaignAPI/getAllocationList", key, campaign_query(attempt))
    attempt.state["allocation"] = parse_entities(body)[0].id


# -- what each call sends ------------------------------------------------------------------------


def dial_query(number: str) -> Callable[[Attempt], list[str]]:
    def query(attempt: Attempt) -> list[str]:
        return [
            f"number={number}",
            f"extenOrUniqueId={encoded('SIP/450')}",
            "callerId=450",
            f"phoneCaption={encoded('Jane Citizen')}",
            f"autoAnswer={encoded(YEALINK_AUTO_ANSWER)}",
        ]

    return query


def hangup_query(attempt: Attempt) -> list[str]:
    return ["extenOrUniqueId=450"]


def answer_query(attempt: Attempt) -> list[str]:
    return [
        f"uniqueId={attempt.call}",
        f"exten={encoded('SIP/450')}",
        f"answerString={encoded(YEALINK_AUTO_ANSWER)}",
    ]


def start_query(attempt: Attempt) -> list[str]:
    return [f"extenOrUniqueId={encoded('SIP/450')}", "tagcrm-17", f"agentLoginName={AGENT}"]  # sic: no '='


def stop_query(attempt: Attempt) -> list[str]:
    return [f"extenOrUniqueId={encoded('SIP/450')}", f"agentLoginName={AGENT}"]


def subscribe_query(attempt: Attempt) -> list[str]:
    return ["exten=450,452", "lastSequenceNumber=0", "timeOut=1", "xDebugArg=replay"]


def roster_query(attempt: Attempt) -> list[str]:
    # Not encoded by the client; the test client percent-encodes the space (see the raw test below).
    return [f"teamName={TEAM}"]


def template_query(attempt: Attempt) -> list[str]:
    return [f"fTemplateId={attempt.world.template_id}"]


def campaign_query(attempt: Attempt) -> list[str]:
    return [f"fCampaignId={attempt.world.campaign_id}"]


def call_record_query(attempt: Attempt) -> list[str]:
    w = attempt.world
    return [
        f"fTemplateId={w.template_id}",
        f"campaignId={w.campaign_id}",
        f"allocationId={attempt.state['allocation']}",
    ]


def no_query(attempt: Attempt) -> list[str]:
    return []


# -- what each answer must say, parsed as the client parses it -----------------------------------


def statistics_ok(attempt: Attempt, body: bytes) -> None:
    stats = parse_statistics(body)
    assert stats["cores"] >= 1
    assert 0 < stats["memoryAvailableMB"] <= stats["memoryTotalMB"]
    assert 0 <= stats["freeDiskSpacePercent"] <= 100
    assert stats["dbPoolSize"] >= 1


def dialled(other_party: str) -> Callable[[Attempt, bytes], None]:
    def check(attempt: Attempt, body: bytes) -> None:
        call = attempt.api.get(f"/api/v1/calls/{parse_dial(body)}/").json()
        assert (call["tenantId"], call["extension"], call["otherParty"]) == ("t1", "450", other_party), call
        assert call["endedAt"] is None

    return check


def succeeded(attempt: Attempt, body: bytes) -> Simple:
    reply = parse_simple(body)
    assert reply.code == 0, reply
    return reply


def hung_up(attempt: Attempt, body: bytes) -> None:
    succeeded(attempt, body)
    wait_state(attempt.api, attempt.call, "Hungup")


def answered(attempt: Attempt, body: bytes) -> None:
    succeeded(attempt, body)
    wait_state(attempt.api, attempt.call, "Connected")


def recording_is(state: str) -> Callable[[Attempt, bytes], None]:
    def check(attempt: Attempt, body: bytes) -> None:
        succeeded(attempt, body)
        assert recording_state(attempt.api, attempt.call) == state

    return check


def subscribed(attempt: Attempt, body: bytes) -> None:
    """At sequence 0: the live call ringing on 450, nothing on 452, and a sequence to follow."""
    reply = parse_subscribe(body)
    assert reply.code == 0
    assert reply.seq > 0
    assert reply.data["452"] == []
    assert [(e.call_data.unique_call_id, e.call_data.status) for e in reply.data["450"]] == [
        (attempt.call, "Ringing")
    ]


def on_shift(attempt: Attempt, body: bytes) -> None:
    (agent,) = parse_rosters(body)
    assert (agent.login, agent.extension) == (AGENT, "450")


def lists(expected: Callable[[ReplayWorld], tuple[int, str]] | None) -> Callable[[Attempt, bytes], None]:
    def check(attempt: Attempt, body: bytes) -> None:
        entities = parse_entities(body)
        if expected is None:
            assert entities, "nothing listed"
        else:
            assert expected(attempt.world) in {(e.id, e.name) for e in entities}

    return check


def listed_records(attempt: Attempt, body: bytes) -> None:
    parse_entities(body)


@dataclass(frozen=True)
class Row:
    """A row of the reference's call table (or a wget script's read)."""

    call: str
    method: str  # the method the client uses
    path: str
    prepare: Callable[[Attempt], None]
    query: Callable[[Attempt], list[str]]
    verify: Callable[[Attempt, bytes], None]
    refused: frozenset[str] = frozenset()  # credentials answered 403 in the envelope
    either: frozenset[str] = frozenset()  # credentials the issue leaves open: served or refused

    @property
    def other_method(self) -> str:
        return "POST" if self.method == "GET" else "GET"


ROWS = [
    Row("getStatistics", "GET", "systemHealth/test", nothing, no_query, statistics_ok, frozenset({"user"})),
    Row("dial", "POST", "CallManagementAPI/dial", nothing, dial_query("0390001234"), dialled("0390001234")),
    Row("internalDial", "POST", "CallManagementAPI/dial", nothing, dial_query("451"), dialled("451")),
    Row("hangup", "POST", "CallManagementAPI/hangup", connected, hangup_query, hung_up),
    Row("answer", "POST", "CallManagementAPI/answer", ringing, answer_query, answered),
    Row(
        "startRecording", "GET", "CallManagementAPI/start", connected, start_query, recording_is("recording")
    ),
    Row("stopRecording", "GET", "CallManagementAPI/stop", recording, stop_query, recording_is("stopped")),
    Row(
        "subscribe",
        "POST",
        "CallManagementAPI/subscribe",
        ringing,
        subscribe_query,
        subscribed,
        frozenset({"user"}),
    ),
    # Seed 000's team rule may or may not reach rosters for a user key of a team member.
    Row(
        "getActiveShifts",
        "GET",
        "rosterApi/getActiveRosters",
        rostered,
        roster_query,
        on_shift,
        either=frozenset({"user"}),
    ),
    Row(
        "wget getCampaignTemplateList",
        "GET",
        "CampaignAPI/getCampaignTemplateList",
        nothing,
        no_query,
        lists(lambda w: (w.template_id, "Replay")),
    ),
    Row(
        "wget getCampaignList",
        "GET",
        "CampaignAPI/getCampaignList",
        nothing,
        template_query,
        lists(lambda w: (w.campaign_id, "Replay-1")),
    ),
    Row(
        "wget getAllocationList", "GET", "CampaignAPI/getAllocationList", nothing, campaign_query, lists(None)
    ),
    Row(
        "wget getCallRecordList",
        "GET",
        "CampaignAPI/getCallRecordList",
        allocation_of_campaign,
        call_record_query,
        listed_records,
    ),
]


def set_accept_get(api: TestClient, on: bool) -> None:
    answer = api.patch(ACCEPT_GET_PATH, json={ACCEPT_GET_FIELD: on})
    assert answer.status_code == 200, answer.text


def refusal(error: JavaError, status: int) -> Simple:
    """A refusal in Noojee's envelope (a 404 would reach the client unread: never a refusal here)."""
    assert error.status == status, error
    assert error.body is not None
    reply = parse_simple(error.body)
    assert reply.code == -status, reply
    return reply


def replay(api: TestClient, world: ReplayWorld, row: Row, credential: str, method: str, get_on: bool) -> None:
    attempt = Attempt(api, world, credential)
    row.prepare(attempt)
    where = f"{row.call}: {method} with the {credential} key, GET setting {'on' if get_on else 'off'}"
    try:
        body = send(api, method, row.path, world.keys[credential], row.query(attempt))
    except JavaError as error:
        if method == "GET" and not get_on:
            # The method is refused; a key refused anyway may be told so first.
            allowed = {405, 403} if credential in row.refused | row.either else {405}
            refusal(error, error.status if error.status in allowed else 405)
        elif credential in row.refused | row.either:
            refusal(error, 403)
        else:
            raise AssertionError(f"{where}: {error}") from None
    else:
        assert get_on or method == "POST", f"{where}: GET served with the setting off"
        assert credential not in row.refused, f"{where}: served {body[:300]!r}"
        try:
            row.verify(attempt, body)
        except (WireError, AssertionError) as failure:
            raise AssertionError(f"{where}: {failure}") from failure
    hang_up_everything(api)


@pytest.mark.parametrize("get_on", [False, True], ids=["post-only", "get-accepted"])
@pytest.mark.parametrize("row", ROWS, ids=[row.call for row in ROWS])
def test_every_client_call_replays_with_each_method_and_key(
    pbx_api: TestClient, global_key: str, row: Row, get_on: bool
) -> None:
    world = build_replay_world(pbx_api, global_key)
    if get_on:
        set_accept_get(pbx_api, True)
    for credential in CREDENTIALS:
        if credential not in world.keys:
            world.keys[credential] = tenant_key(pbx_api, "t1")
        for method in (row.method, row.other_method):
            replay(pbx_api, world, row, credential, method, get_on)


def test_a_bare_extension_resolves_in_the_tenant_keys_tenant_and_the_global_key_is_told_the_fix(
    pbx_api: TestClient, global_key: str
) -> None:
    world = build_replay_world(pbx_api, global_key)
    query = ["number=0390001234", f"extenOrUniqueId={encoded('SIP/451')}"]
    with pytest.raises(JavaError) as ambiguous:
        send(pbx_api, "POST", "CallManagementAPI/dial", global_key, query)
    assert "tenant key" in refusal(ambiguous.value, 400).message.lower()
    key = tenant_key(pbx_api, "t1")
    unique_id = parse_dial(send(pbx_api, "POST", "CallManagementAPI/dial", key, query))
    call = pbx_api.get(f"/api/v1/calls/{unique_id}/").json()
    assert (call["tenantId"], call["extension"]) == ("t1", "451")
    assert world.keys["global"] == global_key


# -- the parse rules, one function each ------------------------------------------------------------


def test_date_times_parse_by_length_without_fraction_or_offset() -> None:
    assert parse_datetime("") is None
    assert parse_datetime("2026-12-07 13:05") == datetime(2026, 12, 7, 13, 5)
    assert parse_datetime("2026-12-07 13:05:09") == datetime(2026, 12, 7, 13, 5, 9)
    assert parse_datetime("2026/12/07 13:05:09") == datetime(2026, 12, 7, 13, 5, 9)
    assert parse_datetime("2026-12-07T13:05:09") == datetime(2026, 12, 7, 13, 5, 9)
    for unreadable in (
        "2026-12-07T13:05:09.123456",
        "2026-12-07T13:05:09+00:00",
        "2026-12-07T13:05:09Z",
        "13:05",
    ):
        with pytest.raises(WireError):
            parse_datetime(unreadable)


CALL = {
    "canAnswer": False,
    "callerId": "0390009999",
    "uniqueCallId": "1.1",
    "secondaryUniqueCallId": "",
    "callStartTime": "2026-12-07 13:05:09",
    "isQueueCall": False,
    "isClickToDialCall": False,
    "inbound": True,
    "status": "Ringing",
}


def subscribe_reply(**call_data: Any) -> bytes:
    event = {"Code": 0, "CallID": 7, "CallData": {**CALL, **call_data}}
    return orjson.dumps({"Code": 0, "Message": "OK", "seq": 12, "Data": {"450": [event], "451": []}})


def test_subscribe_parses_only_the_four_statuses_and_client_date_times() -> None:
    reply = parse_subscribe(subscribe_reply())
    assert reply.seq == 12
    assert reply.data["451"] == []
    assert reply.data["450"] == [Event(0, 7, reply.data["450"][0].call_data)]
    assert reply.data["450"][0].call_data.call_start_time == datetime(2026, 12, 7, 13, 5, 9)
    for status in ("Dialing Out", "Connected", "Hungup"):
        assert parse_subscribe(subscribe_reply(status=status)).data["450"][0].call_data.status == status
    for wrong in ({"status": "Busy"}, {"callStartTime": "2026-12-07T13:05:09.5+00:00"}, {"inbound": "true"}):
        with pytest.raises(WireError):
            parse_subscribe(subscribe_reply(**wrong))
    with pytest.raises(WireError):
        parse_subscribe(subscribe_reply(secondaryUniqueCallId=None))


def test_simple_replies_need_an_integer_code_and_a_message() -> None:
    assert parse_simple(b'{"Code": 0, "Message": "OK"}') == Simple(0, "OK")
    assert parse_dial(b'{"Code": 0, "Message": "OK", "SessionID": "1.2"}') == "1.2"
    for wrong in (
        b'{"Code": "0", "Message": "OK"}',
        b'{"Code": true, "Message": "OK"}',
        b'{"Code": 0}',
        b"OK",
    ):
        with pytest.raises(WireError):
            parse_simple(wrong)
    with pytest.raises(WireError):
        parse_dial(b'{"Code": 0, "Message": "OK"}')


def test_statistics_rosters_and_lists_need_their_fields() -> None:
    with pytest.raises(WireError):
        parse_statistics(b'{"Code": 0, "Message": "OK", "entities": [{}]}')  # upper-case: not this reply
    with pytest.raises(WireError):
        parse_rosters(
            b'{"code": 0, "message": "OK", "type": "roster", "entities": [{"id": 1, "login": "a"}]}'
        )
    with pytest.raises(WireError):
        parse_rosters(b'{"code": -1, "message": "no", "type": "roster", "entities": []}')
    assert parse_entities(b'{"Code": 0, "Message": "OK", "entities": [{"id": 3, "name": "x"}]}')[0].id == 3
    with pytest.raises(WireError):
        parse_entities(b'{"Code": 0, "Message": "OK", "entities": [{"id": "3", "name": "x"}]}')
    for wrong in (
        b'{"entities": [{"id": 3, "name": "x"}]}',  # not a simple reply
        b'{"Code": 0, "Message": "OK", "entities": [{"id": 3}]}',  # no name
    ):
        with pytest.raises(WireError):
            parse_entities(wrong)


# -- the monitor loop ------------------------------------------------------------------------------


def poll(api: TestClient, key: str, seq: int, timeout: int) -> tuple[list[Event], int]:
    query = ["exten=450", f"lastSequenceNumber={seq}", f"timeOut={timeout}", "xDebugArg=monitor"]
    reply = parse_subscribe(send(api, "POST", "CallManagementAPI/subscribe", key, query))
    assert reply.code == 0
    assert set(reply.data) == {"450"}
    return reply.data["450"], reply.seq


def follow_until(api: TestClient, key: str, seq: int, status: str) -> tuple[list[Event], int]:
    """Long-polls (timeOut 2, under the client's 5 s read timeout) until an event has `status`."""
    events: list[Event] = []
    deadline = time.monotonic() + 10
    while not any(e.call_data.status == status for e in events):
        assert time.monotonic() < deadline, f"no {status} after {events}"
        more, next_seq = poll(api, key, seq, 2)
        assert next_seq >= seq
        if more:
            assert next_seq > seq, "events without an advancing seq"
        events, seq = events + more, next_seq
    return events, seq


def test_the_monitor_loop_follows_a_call_through_ringing_connected_hungup(
    pbx_api: TestClient, global_key: str, db: Database
) -> None:
    build_replay_world(pbx_api, global_key)
    unique_id = inject_ringing(pbx_api)
    wait_numbered(db)  # the snapshot's seq then follows the Ringing event
    snapshot, seq = poll(pbx_api, global_key, 0, 0)
    assert [(e.call_data.unique_call_id, e.call_data.status) for e in snapshot] == [(unique_id, "Ringing")]
    assert snapshot[0].call_data.inbound
    assert snapshot[0].call_data.call_start_time is not None
    created(pbx_api.post(f"/api/v1/simulator/calls/{unique_id}/answer/"), 200)
    events, seq = follow_until(pbx_api, global_key, seq, "Connected")
    created(pbx_api.post(f"/api/v1/calls/{unique_id}/hangup/"), 200)
    more, _ = follow_until(pbx_api, global_key, seq, "Hungup")
    assert [e.call_data.status for e in events + more if e.call_data.unique_call_id == unique_id][-2:] == [
        "Connected",
        "Hungup",
    ]


# -- seed 000's example on the demo ----------------------------------------------------------------


def test_seed_000s_stop_example_stops_a_recording_on_the_demo(
    api: TestClient, global_key: str, db: Database
) -> None:
    with db.transaction() as session:
        load_demo(session)
    key = tenant_key(api, "acme")
    dialled_call = api.post(
        "/api/v1/calls/", json={"extension": "410", "number": "0390001234", "tenantId": "acme"}
    )
    assert dialled_call.status_code == 201, dialled_call.text
    unique_id = dialled_call.json()["uniqueId"]
    wait_state(api, unique_id, "Connected")
    created(api.post(f"/api/v1/calls/{unique_id}/recording/start/", json={}), 200)
    # Typed as in the seed: a plain POST, the key in the query string, nothing else.
    del api.headers["Authorization"]
    answer = api.post(f"/servicemanager/rest/CallManagementAPI/stop?extenOrUniqueId=410&apiKey={key}")
    assert answer.status_code == 200, answer.text
    assert parse_simple(answer.content).code == 0
    system = {"Authorization": f"Bearer {global_key}"}
    recordings = api.get("/api/v1/recordings/", params={"uniqueId": unique_id}, headers=system)
    assert [r["state"] for r in recordings.json()["recordings"]] == ["stopped"]


# -- a raw space in the request line, on the real server -------------------------------------------


@pytest.mark.server
def test_a_team_name_with_a_raw_space_reaches_get_active_rosters(
    database_url: str, global_key: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    with running_server(data_dir, database_url) as (port, _log):
        cafile = str(data_dir / "tls" / "localhost.crt")
        system = {"Authorization": f"Bearer {global_key}"}
        context = ssl.create_default_context(cafile=cafile)
        with httpx2.Client(verify=context, base_url=f"https://127.0.0.1:{port}", headers=system) as client:
            created(client.post("/api/v1/tenants/", json={"tenantId": "t1", "type": "Enterprise"}))
            created(client.post("/api/v1/tenants/t1/teams/", json={"name": TEAM}))
            answer = client.patch(ACCEPT_GET_PATH, json={ACCEPT_GET_FIELD: True})
            assert answer.status_code == 200, answer.text
        request_target = target("rosterApi/getActiveRosters", global_key, [f"teamName={TEAM}"])
        assert " " in request_target
        status, body = send_raw(port, cafile, "GET", request_target)
        assert status == 200, body
        assert parse_rosters(body) == []
