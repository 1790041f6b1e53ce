"""Noojee's subscribe long-poll: sequence semantics, waiting, snapshots, scoping, restarts."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from switchboard.calls import service
from switchboard.calls.drivers.base import CallUpdate
from switchboard.calls.models import Call
from switchboard.db.engine import Database
from switchboard.events.models import Event
from switchboard.settings import Settings
from tests.support.access_world import build_world
from tests.support.calls import dial, noojee, wait_numbered, wait_state
from tests.support.clients import make_client
from tests.support.contact_centre import agent_campaigns


def subscribe(api: TestClient, headers: dict[str, str] | None = None, **params: Any) -> Any:
    answer = noojee(api, "subscribe", headers, **params)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["Code"] == 0
    return body


def statuses(body: Any, extension: str) -> list[str]:
    return [entry["CallData"]["status"] for entry in body["Data"][extension]]


def follow(api: TestClient, exten: str, seq: int, until: str, **params: Any) -> tuple[list[Any], int]:
    """Poll from `seq` until an entry with status `until` arrives; every entry, in order."""
    entries: list[Any] = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        body = subscribe(api, exten=exten, lastSequenceNumber=seq, timeOut=2, **params)
        assert body["seq"] >= seq
        seq = body["seq"]
        for values in body["Data"].values():
            entries += values
        if any(e["CallData"]["status"] == until for e in entries):
            return entries, seq
    raise AssertionError(f"no {until} after {entries}")


def test_sequence_semantics_snapshot_newer_only_and_multiple_extensions(
    api: TestClient, global_key: str, db: Database
) -> None:
    build_world(api, global_key)
    empty = subscribe(api, exten="102,103", tenantId="t1", lastSequenceNumber=0, timeOut=0)
    assert empty["Data"] == {"102": [], "103": []}
    unique_id = dial(api, extenOrUniqueId="102", number="0390001234")
    # The call is Connected once its state is committed; its events are numbered just after. A
    # snapshot taken in between would give a sequence before them, and they would come as newer.
    wait_numbered(db)
    # N=0, timeOut=0: the extensions' current state at once, and the sequence to follow from.
    snapshot = subscribe(api, exten="102,103", lastSequenceNumber=0, timeOut=0, tenantId="t1")
    assert statuses(snapshot, "102") == ["Connected"]
    assert snapshot["Data"]["103"] == []
    (live,) = snapshot["Data"]["102"]
    assert live["Code"] == 0
    assert live["CallData"]["uniqueCallId"] == unique_id
    assert live["CallData"]["isClickToDialCall"] is True
    assert live["CallData"]["inbound"] is False
    assert live["CallData"]["otherPartyCallerId"] == "0390001234"
    seq = snapshot["seq"]
    # Nothing newer yet: timeOut=0 answers at once with the same sequence.
    assert subscribe(api, exten="102", lastSequenceNumber=seq, timeOut=0) == {
        "Code": 0,
        "Message": "OK",
        "Data": {"102": []},
        "seq": seq,
    }
    # A call on 103 then a hang-up on 102: each extension sees only its own, newer events.
    other = dial(api, extenOrUniqueId="103", number="0390001235")
    assert noojee(api, "hangup", extenOrUniqueId=unique_id).json()["Code"] == 0
    wait_state(api, unique_id, "Hungup")
    only_102, seq_102 = follow(api, "102", seq, "Hungup")
    assert [e["CallData"]["status"] for e in only_102] == ["Hungup"]
    assert {e["CallData"]["uniqueCallId"] for e in only_102} == {unique_id}
    both, _ = follow(api, "102,103", seq, "Hungup")
    assert follow(api, "102,SIP/102,102", seq, "Hungup")[0] == only_102  # one extension, once
    assert {e["CallData"]["uniqueCallId"] for e in both} == {unique_id, other}
    assert [e["CallData"]["status"] for e in both if e["CallData"]["uniqueCallId"] == other] == [
        "Dialing Out",
        "Ringing",
        "Connected",
    ]
    # Older events are never sent again.
    assert subscribe(api, exten="102", lastSequenceNumber=seq_102, timeOut=0)["Data"] == {"102": []}


def test_a_waiting_poll_returns_as_soon_as_an_event_arrives(api: TestClient, global_key: str) -> None:
    build_world(api, global_key)
    seq = subscribe(api, exten="103", lastSequenceNumber=0, timeOut=0)["seq"]
    answer: dict[str, Any] = {}

    def poll() -> None:
        started = time.monotonic()
        answer["body"] = subscribe(api, exten="103", lastSequenceNumber=seq, timeOut=20)
        answer["seconds"] = time.monotonic() - started

    waiter = threading.Thread(target=poll)
    waiter.start()
    time.sleep(0.5)
    assert "body" not in answer  # still waiting: nothing happened on 103
    assert noojee(api, "dial", extenOrUniqueId="103", number="0390001234").status_code == 200
    waiter.join(10)
    assert not waiter.is_alive()
    assert statuses(answer["body"], "103")[0] == "Dialing Out"
    assert 0.5 <= answer["seconds"] < 3, answer["seconds"]  # woken by the event, not the 20 s timeout
    assert answer["body"]["seq"] > seq


def test_an_idle_poll_times_out_with_nothing(api: TestClient, global_key: str) -> None:
    build_world(api, global_key)
    seq = subscribe(api, exten="103", lastSequenceNumber=0, timeOut=0)["seq"]
    dial(api, extenOrUniqueId="102", number="0390001234")  # another extension's events don't wake it
    started = time.monotonic()
    body = subscribe(api, exten="103", lastSequenceNumber=seq, timeOut=1)
    assert 0.9 <= time.monotonic() - started < 3
    assert body["Data"] == {"103": []}
    assert body["seq"] >= seq


def test_refusals_user_key_unknown_and_ambiguous_extensions(api: TestClient, global_key: str) -> None:
    world = build_world(api, global_key)
    ids = agent_campaigns(api, world)
    # Seed 000: a user API key never reaches subscribe, whatever its account may do.
    refused = noojee(api, "subscribe", ids["key"], exten="102", lastSequenceNumber=0, timeOut=0)
    assert refused.status_code == 403
    assert refused.json() == {"Code": -403, "Message": "subscribe needs the global API key or a tenant key."}
    # So does a tenant administrator's or the system's login token: the global key or a tenant key.
    token = noojee(api, "subscribe", world.headers["tenant_admin"], exten="102", timeOut=0)
    assert token.status_code == 403
    unknown = noojee(api, "subscribe", exten="102,999", tenantId="t1", timeOut=0)
    assert unknown.status_code == 404
    assert unknown.json()["Code"] == -404
    ambiguous = noojee(api, "subscribe", exten="101", timeOut=0)  # in t1 and in t2
    assert ambiguous.status_code == 400
    assert "tenant" in ambiguous.json()["Message"]
    assert subscribe(api, exten="101", tenantId="t2", timeOut=0)["Data"] == {"101": []}
    for bad in ({"exten": ""}, {"exten": "abc"}, {"exten": "102", "lastSequenceNumber": "-1"}):
        assert noojee(api, "subscribe", **bad).status_code == 400, bad
    assert api.get("/servicemanager/rest/CallManagementAPI/subscribe").status_code == 405


def test_following_seq_misses_and_repeats_nothing_across_a_restart(
    settings: Settings, global_key: str, db: Database
) -> None:
    seen: list[tuple[str, str]] = []
    with make_client(settings) as api:
        api.headers["Authorization"] = f"Bearer {global_key}"
        build_world(api, global_key)
        seq = subscribe(api, exten="102,103", tenantId="t1", timeOut=0)["seq"]
        first = dial(api, extenOrUniqueId="102", number="0390001234")
        entries, seq = follow(api, "102,103", seq, "Connected", tenantId="t1")
        seen += [(e["CallData"]["uniqueCallId"], e["CallData"]["status"]) for e in entries]
    # A new process on the same database: calls the old one had live ended with it.
    with make_client(settings) as api:
        api.headers["Authorization"] = f"Bearer {global_key}"
        second = dial(api, extenOrUniqueId="103", number="0390001235")
        assert noojee(api, "hangup", extenOrUniqueId=second).json()["Code"] == 0
        wait_state(api, second, "Hungup")
        entries, seq = follow(api, "103", seq, "Hungup", tenantId="t1")
        more = subscribe(
            api, exten="102,103", tenantId="t1", lastSequenceNumber=seq - len(entries), timeOut=0
        )
        assert more["seq"] == seq
    # Every change of state of the two extensions' calls, once each, in the log's order.
    with db.transaction() as session:
        logged = [
            (e.unique_id, e.data["state"])
            for e in session.scalars(
                select(Event)
                .where(Event.extension.in_(["102", "103"]), Event.kind.startswith("call."))
                .order_by(Event.seq)
            )
            if e.data["state"] != e.data.get("previousState")
        ]
    first_logged = [pair for pair in logged if pair[0] == first]
    assert first_logged[: len(seen)] == seen
    assert first_logged[-1] == (first, "Hungup")  # ended by the first process's shutdown
    assert [s for u, s in logged if u == second] == ["Dialing Out", "Ringing", "Connected", "Hungup"]
    assert len(set(logged)) == len(logged)


def test_an_event_is_written_with_its_state_or_not_at_all(
    api: TestClient, global_key: str, db: Database
) -> None:
    build_world(api, global_key)
    with db.transaction() as session:
        before = session.scalar(select(func.count()).select_from(Event))
    update = CallUpdate("1700000000.1", "102", "Ringing", "inbound", "0390009999", "0390009999")

    def fail_after_writing() -> None:
        with db.transaction() as session:
            assert service.apply_update(session, update) is not None
            session.flush()
            assert session.scalar(select(func.count()).select_from(Event)) == (before or 0) + 1
            raise RuntimeError("the transaction fails after writing the state and its event")

    with pytest.raises(RuntimeError, match="fails after writing"):
        fail_after_writing()
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Event)) == before
        assert session.scalar(select(Call).where(Call.unique_id == "1700000000.1")) is None


def test_a_poll_in_one_process_wakes_for_an_event_made_in_another(
    settings: Settings, global_key: str
) -> None:
    """Two app instances on one database (two worker processes): the event is numbered by the
    process that made it; the change feed (NOTIFY on PostgreSQL, polling on SQLite) wakes the
    other's waiting poll."""
    with make_client(settings) as first, make_client(settings) as second:
        for client in (first, second):
            client.headers["Authorization"] = f"Bearer {global_key}"
        build_world(first, global_key)
        seq = subscribe(second, exten="103", tenantId="t1", timeOut=0)["seq"]
        answer: dict[str, Any] = {}

        def poll() -> None:
            started = time.monotonic()
            answer["body"] = subscribe(second, exten="103", tenantId="t1", lastSequenceNumber=seq, timeOut=20)
            answer["seconds"] = time.monotonic() - started

        waiter = threading.Thread(target=poll)
        waiter.start()
        time.sleep(0.5)
        dialled = noojee(first, "dial", extenOrUniqueId="103", number="0390001234", tenantId="t1")
        assert dialled.status_code == 200
        waiter.join(15)
        assert not waiter.is_alive()
        assert statuses(answer["body"], "103")[0] == "Dialing Out"
        assert answer["seconds"] < 3, answer["seconds"]


def test_a_snapshot_does_not_wait_for_a_writer(api: TestClient, global_key: str, db: Database) -> None:
    """Subscribe only reads: on SQLite it must not queue for the write lock (the mixed load's
    snapshots waited behind every lead insert). Another unit of work holds the lock while the
    snapshot is asked for; it answers at once (it waited 10 s, then 503, before)."""
    build_world(api, global_key)
    unique_id = dial(api, extenOrUniqueId="102", number="0390001234")
    wait_numbered(db)
    with db.transaction() as session:
        session.connection()  # SQLite: BEGIN IMMEDIATE, the write lock held until the block ends
        answer = noojee(api, "subscribe", exten="102", tenantId="t1", lastSequenceNumber=0, timeOut=0)
    assert answer.status_code == 200, answer.text
    (live,) = answer.json()["Data"]["102"]
    assert live["CallData"]["uniqueCallId"] == unique_id
