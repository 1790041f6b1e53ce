"""Call control on the simulated PBX: dial, record, pause, resume, stop, metadata, files, scoping."""

from __future__ import annotations

import time
import wave
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from switchboard.db.engine import Database
from switchboard.events.models import Event
from tests.support.access_world import build_world, make_account
from tests.support.calls import CM, dial, noojee, wait_state
from tests.support.clients import make_client
from tests.support.contact_centre import agent_campaigns
from tests.support.factories import created

RA = "/servicemanager/rest/RecordingAPI"
T1 = "/api/v1/tenants/t1"


def test_every_method_end_to_end_on_the_simulated_pbx(api: TestClient, global_key: str, db: Database) -> None:
    build_world(api, global_key)
    unique_id = dial(api, extenOrUniqueId="102", number="03 9000 1234", tag="t-1")
    assert noojee(api, "start", extenOrUniqueId="102", agentLoginName="eu1", tag="crm-42").json()["Code"] == 0
    time.sleep(0.15)
    assert noojee(api, "pause", extenOrUniqueId="102").json()["Code"] == 0
    time.sleep(0.6)  # paused: not in the file
    assert noojee(api, "resume", extenOrUniqueId=unique_id).json()["Code"] == 0
    time.sleep(0.15)
    stopped = noojee(api, "stop", extenOrUniqueId="SIP/102")
    assert stopped.status_code == 200, stopped.text
    assert stopped.json() == {"Code": 0, "Message": "OK", "UniqueId": unique_id, "Leg": 1}
    meta = api.post(f"{RA}/retrieveMetaData", params={"tag": "crm-42"}).json()
    assert meta["Code"] == 0
    (entry,) = meta["entities"]
    assert set(entry) == {
        "Source",
        "Leg",
        "Start",
        "Tag",
        "Duration",
        "Username",
        "CallRecordId",
        "UniqueId",
        "DID",
        "Direction",
        "State",
    }
    assert entry["State"] == "stopped"
    assert (entry["UniqueId"], entry["Leg"], entry["Username"], entry["Direction"]) == (
        unique_id,
        1,
        "eu1",
        "Outbound",
    )
    by_id = api.post(f"{RA}/retrieveMetaDataByUniqueId", params={"uniqueId": unique_id}).json()
    assert by_id["entities"] == meta["entities"]
    # The file: a valid WAV whose length is the time recorded, pauses left out.
    audio = api.get(f"/api/v1/recordings/{entry['CallRecordId']}/file/")
    assert audio.status_code == 200
    assert audio.headers["content-type"] == "audio/wav"
    import io

    with wave.open(io.BytesIO(audio.content)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 8000)
        seconds = wav.getnframes() / 8000
    # ~0.3 s recorded (plus request latency); with the 0.6 s pause in it, it would be >= 0.9 s.
    assert 0.25 <= seconds < 0.85, seconds
    # Every state change is in the event log, numbered in order.
    with db.transaction() as session:
        kinds = [
            e.kind
            for e in session.scalars(select(Event).where(Event.unique_id == unique_id).order_by(Event.pk))
        ]
    assert kinds[-4:] == ["recording.started", "recording.paused", "recording.resumed", "recording.stopped"]
    assert "call.connected" in kinds
    assert noojee(api, "hangup", extenOrUniqueId=unique_id).json()["Code"] == 0
    wait_state(api, unique_id, "Hungup")


def test_refusals_are_distinct_and_change_nothing(api: TestClient, global_key: str) -> None:
    build_world(api, global_key)
    unique_id = dial(api, extenOrUniqueId="102", number="0390001234")

    def code(method: str, **params: Any) -> tuple[int, str]:
        answer = noojee(api, method, **params)
        return answer.status_code, answer.json()["Message"]

    assert code("stop", extenOrUniqueId="102") == (409, f"no recording is running on call {unique_id}")
    assert code("pause", extenOrUniqueId="102")[0] == 409
    assert noojee(api, "start", extenOrUniqueId="102").status_code == 200
    assert code("start", extenOrUniqueId="102") == (409, f"call {unique_id} is already being recorded")
    assert noojee(api, "pause", extenOrUniqueId="102").status_code == 200
    assert code("pause", extenOrUniqueId="102") == (409, "the recording is already paused")
    assert noojee(api, "resume", extenOrUniqueId="102").status_code == 200
    assert code("resume", extenOrUniqueId="102") == (409, "the recording is not paused")
    assert code("stop", extenOrUniqueId="999")[0] == 404  # no such extension
    assert code("stop", extenOrUniqueId="103") == (404, "The requested object was not found.")  # no live call
    assert code("stop", extenOrUniqueId="not an extension")[0] == 400
    assert code("start", extenOrUniqueId="102", agentLoginName="nobody")[0] == 409  # already recording
    # Hung up: by unique id "ended", by extension "no live call".
    assert noojee(api, "hangup", extenOrUniqueId="102").status_code == 200
    wait_state(api, unique_id, "Hungup")
    assert code("stop", extenOrUniqueId=unique_id) == (409, f"call {unique_id} has ended (Hungup)")
    assert code("stop", extenOrUniqueId="102")[0] == 404
    recordings = api.get("/api/v1/recordings/", params={"uniqueId": unique_id}).json()["recordings"]
    assert [(r["leg"], r["state"]) for r in recordings] == [(1, "stopped")]  # stopped by the hang-up
    assert noojee(api, "dial", extenOrUniqueId="102").status_code == 400  # number missing
    assert api.get(f"{CM}/stop").status_code == 405


def test_extensions_resolve_within_a_tenant(api: TestClient, global_key: str) -> None:
    world = build_world(api, global_key)
    # 101 is in t1 and t2: the global key must say which; a tenant's principals need not.
    ambiguous = noojee(api, "dial", extenOrUniqueId="101", number="0390001234")
    assert ambiguous.status_code == 400
    assert "tenant" in ambiguous.json()["Message"]
    in_t2 = dial(api, extenOrUniqueId="101", number="0390001234", tenantId="t2")
    assert api.get(f"/api/v1/calls/{in_t2}/").json()["tenantId"] == "t2"
    mine = dial(api, world.headers["user"], extenOrUniqueId="101", number="0390001235")
    assert api.get(f"/api/v1/calls/{mine}/").json()["tenantId"] == "t1"
    # Two live calls on one extension: the most recent is the one an extension selects.
    newer = dial(api, world.headers["user"], extenOrUniqueId="SIP/101", number="0390001236")
    assert noojee(api, "start", world.headers["user"], extenOrUniqueId="101").json()["UniqueId"] == newer
    assert (
        noojee(api, "stop", world.headers["user"], extenOrUniqueId=mine).status_code == 409
    )  # not recording
    # The t1 user cannot see t2's call on "its" extension number: the same 404 as a missing call.
    hidden = noojee(api, "stop", world.headers["user"], extenOrUniqueId=in_t2)
    missing = noojee(api, "stop", world.headers["user"], extenOrUniqueId="1234567890.999")
    assert hidden.status_code == 404
    assert hidden.content == missing.content


def test_a_user_key_controls_its_campaigns_and_its_own_extension(api: TestClient, global_key: str) -> None:
    world = build_world(api, global_key)
    ids = agent_campaigns(api, world)
    key = ids["key"]
    for_a = dial(api, extenOrUniqueId="103", number="0390001234", campaignId=ids["A"])
    for_b = dial(api, extenOrUniqueId="103", number="0390001235", campaignId=ids["B"])
    # A's campaign call is on another extension: the agent sees it, but only the call's agent and
    # the tenant's administrators act on it (403). B's: invisible, the same 404 as missing.
    assert api.get(f"/api/v1/calls/{for_a}/", headers=key).status_code == 200
    assert noojee(api, "start", key, extenOrUniqueId=for_a).status_code == 403
    assert noojee(api, "hangup", key, extenOrUniqueId=for_a).status_code == 403
    hidden = noojee(api, "start", key, extenOrUniqueId=for_b)
    assert hidden.status_code == 404
    assert hidden.content == noojee(api, "start", key, extenOrUniqueId="1234567890.999").content
    assert api.get(f"/api/v1/calls/{for_b}/", headers=key).status_code == 404
    assert (
        api.post(f"{RA}/retrieveMetaDataByUniqueId", params={"uniqueId": for_b}, headers=key).json()[
            "entities"
        ]
        == []
    )
    # Its own extension: dial, record, control. Another's extension: not even by naming it.
    own = dial(api, key, extenOrUniqueId="102", number="0390001236")
    assert noojee(api, "start", key, extenOrUniqueId="102", tag="own").json()["Code"] == 0
    assert noojee(api, "pause", key, extenOrUniqueId="102").json()["Code"] == 0
    assert noojee(api, "stop", key, extenOrUniqueId=own, agentLoginName="agent").json()["Code"] == 0
    assert noojee(api, "dial", key, extenOrUniqueId="103", number="0390001237").status_code == 403
    # agentLoginName never authorizes: a user key may name only its own account.
    assert noojee(api, "start", key, extenOrUniqueId=own, agentLoginName="ta1").status_code == 403
    # An admin's recording may name anyone; the call's agent still controls it, and a stop naming
    # another owner is refused.
    assert noojee(api, "start", extenOrUniqueId=own, agentLoginName="ta1").json()["Code"] == 0
    assert (
        noojee(api, "stop", extenOrUniqueId=own, agentLoginName="agent").status_code == 403
    )  # not its owner
    assert noojee(api, "pause", key, extenOrUniqueId=own).json()["Code"] == 0
    assert noojee(api, "stop", extenOrUniqueId=own, agentLoginName="ta1").json()["Code"] == 0
    # The native list shows the agent exactly its own extension's and its campaign's calls.
    seen = {c["uniqueId"] for c in api.get("/api/v1/calls/", headers=key).json()["calls"]}
    assert seen == {for_a, own}
    # Another tenant's administrator sees none of it.
    ta2 = {"Authorization": world.headers["user_key"]["Authorization"]}  # t1's key: sees t1
    assert {c["uniqueId"] for c in api.get("/api/v1/calls/", headers=ta2).json()["calls"]} >= {
        for_a,
        for_b,
        own,
    }
    make_account(api, "ta2-admin", "tenant_admin", "t2")
    other = created(api.post("/api/v1/accounts/ta2-admin/api-keys/", json={"name": "x"}))["key"]
    assert api.get("/api/v1/calls/", headers={"Authorization": f"Bearer {other}"}).json()["calls"] == []
    assert noojee(api, "stop", {"Authorization": f"Bearer {other}"}, extenOrUniqueId=for_a).status_code == 404


def test_toll_fraud_rules(api: TestClient, global_key: str) -> None:
    world = build_world(api, global_key)
    user = world.headers["user"]  # eu1, extension 101 of t1
    international = noojee(api, "dial", user, extenOrUniqueId="101", number="+44 20 7946 0000")
    assert international.status_code == 403
    assert "dialling policy" in international.json()["Message"]
    assert noojee(api, "dial", user, extenOrUniqueId="101", number="1900123456").status_code == 403  # premium
    spoofed = noojee(api, "dial", user, extenOrUniqueId="101", number="0390001234", callerId="0299998888")
    assert spoofed.status_code == 403
    assert "callerId" in spoofed.json()["Message"]
    assert (
        noojee(api, "dial", user, extenOrUniqueId="101", number="0390001234", callerId="102").status_code
        == 200
    )
    # The tenant opens international calls, and caps concurrent API calls at 2.
    policy = {"allowed": [r"\+44\d+", r"0[1-8]\d{8}"], "maxConcurrentCalls": 2}
    assert api.put(f"{T1}/dialling-policy/", json=policy).status_code == 200
    assert api.put(f"{T1}/dialling-policy/", json=policy, headers=user).status_code == 403
    assert noojee(api, "dial", user, extenOrUniqueId="101", number="+44 20 7946 0000").status_code == 200
    capped = noojee(api, "dial", user, extenOrUniqueId="101", number="0390001234")
    assert capped.status_code == 403
    assert "2 concurrent" in capped.json()["Message"]
    assert (
        api.put(f"{T1}/dialling-policy/", json={"allowed": ["("], "maxConcurrentCalls": 1}).status_code == 400
    )


def test_record_on_dial_and_injected_inbound_calls(api: TestClient, global_key: str) -> None:
    world = build_world(api, global_key)
    unique_id = dial(
        api, world.headers["user"], extenOrUniqueId="101", number="0390001234", record="true", tag="auto"
    )
    deadline = time.monotonic() + 5
    while (
        not api.get("/api/v1/recordings/", params={"uniqueId": unique_id}).json()["recordings"]
        and time.monotonic() < deadline
    ):
        time.sleep(0.01)
    (recording,) = api.get("/api/v1/recordings/", params={"uniqueId": unique_id}).json()["recordings"]
    assert (recording["owner"], recording["tag"], recording["state"]) == ("eu1", "auto", "recording")
    inbound = created(api.post("/api/v1/simulator/calls/", json={"to": "102", "from": "+61 3 9000 0001"}))
    assert (inbound["direction"], inbound["extension"], inbound["tenantId"]) == ("inbound", "102", "t1")
    # 101 is in t1 and t2: the simulator rings the named tenant's, and the call is that tenant's.
    body = {"to": "101", "from": "0390000002", "tenantId": "t2"}
    assert created(api.post("/api/v1/simulator/calls/", json=body))["tenantId"] == "t2"
    assert api.post("/api/v1/simulator/calls/", json={**body, "tenantId": None}).status_code == 400
    assert (
        api.post(
            "/api/v1/simulator/calls/", json={"to": "102", "from": "x"}, headers=world.headers["user"]
        ).status_code
        == 403
    )


def test_pbx_unavailable_is_503_and_nothing_else_breaks(
    api: TestClient, global_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_world(api, global_key)
    driver = api.app.state.services.calls.driver  # type: ignore[attr-defined]
    monkeypatch.setattr(type(driver), "available", property(lambda self: False))
    down = noojee(api, "dial", extenOrUniqueId="102", number="0390001234")
    assert down.status_code == 503
    assert down.json()["Code"] == -503
    assert "PBX" in down.json()["Message"]
    ready = api.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "degraded"
    assert api.get("/api/v1/tenants/t1/").status_code == 200
    assert api.get("/api/v1/calls/").status_code == 200


def test_calls_of_a_previous_process_end_with_it(settings: Any, global_key: str, api: TestClient) -> None:
    """The simulated PBX lives in its process: on the next start, calls the database still
    holds as live are recorded as hung up. Its recording died with it unwritten (the simulated PBX
    writes the file when a recording stops): failed, not stopped."""
    build_world(api, global_key)
    with make_client(settings) as first:
        first.headers["Authorization"] = f"Bearer {global_key}"
        unique_id = dial(first, extenOrUniqueId="102", number="0390001234")
        assert noojee(first, "start", extenOrUniqueId="102").json()["Code"] == 0

        async def killed() -> None:  # the process dies: its PBX says nothing more
            return None

        first.app.state.services.calls.driver.close = killed  # type: ignore[attr-defined]
    # `api` is another app on the same database, started before: restart one.
    with make_client(settings) as second:
        second.headers["Authorization"] = f"Bearer {global_key}"
        wait_state(second, unique_id, "Hungup")
        (recording,) = second.get("/api/v1/recordings/", params={"uniqueId": unique_id}).json()["recordings"]
        assert recording["state"] == "failed"


def test_reconciling_never_hangs_up_a_call_recorded_after_the_pbx_listed_its_calls(
    api: TestClient, global_key: str, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Start-up reconciliation lists the PBX's calls, then ends the database's other live calls.
    A call recorded between the two (a dial at start-up) is not stale: it stays live."""
    from switchboard.calls import service
    from switchboard.calls.drivers.base import CallUpdate

    build_world(api, global_key)
    control = api.app.state.services.calls

    async def listing_then_a_new_call() -> list[Any]:
        with db.transaction() as session:  # recorded just after the PBX answered the listing
            update = CallUpdate("1700000001.7", "103", "Ringing", "inbound", "0390009999", "0390009999")
            assert service.apply_update(session, update) is not None
        return []

    monkeypatch.setattr(control.driver, "live_calls", listing_then_a_new_call)
    api.portal.call(control.reconcile)  # type: ignore[union-attr]
    assert api.get("/api/v1/calls/1700000001.7/").json()["state"] == "Ringing"


def test_a_worker_behind_the_others_neither_makes_a_dial_inbound_nor_moves_a_call_back(
    api: TestClient, global_key: str, db: Database
) -> None:
    """Every worker hears every PBX event and records it. One that did not dial takes the dial's
    channel for an inbound call with no number, and may record it before the dialling worker
    records the dial; one behind the others may report a step the call has already passed."""
    from switchboard.calls import service
    from switchboard.calls.drivers.base import CallUpdate
    from switchboard.directory.models import Tenant

    build_world(api, global_key)
    unique_id = "1700000002.800000000000000001"

    def heard(state: str, direction: str = "outbound", number: str = "0390001234") -> None:
        with db.transaction() as session:
            service.apply_update(session, CallUpdate(unique_id, "102", state, direction, number, ""))

    heard("Ringing", "inbound", "")  # the other worker's Newchannel, first
    with db.transaction() as session:
        tenant_pk = session.scalars(select(Tenant.pk).where(Tenant.tenant_id == "t1")).one()
        plan = service.DialPlan(tenant_pk, "102", "0390001234", "", None, None)
        service.record_dial(session, plan, unique_id)
    heard("Connected")
    heard("Ringing", "inbound", "")  # the other worker, behind: its Newchannel again
    call = api.get(f"/api/v1/calls/{unique_id}/").json()
    assert (call["direction"], call["otherParty"], call["state"]) == ("outbound", "0390001234", "Connected")
    heard("Hungup")
    heard("Connected")  # behind again: the answer after the hang-up
    assert api.get(f"/api/v1/calls/{unique_id}/").json()["state"] == "Hungup"
    with db.transaction() as session:
        kinds = [
            e.kind
            for e in session.scalars(select(Event).where(Event.unique_id == unique_id).order_by(Event.pk))
        ]
    assert kinds == ["call.ringing", "call.originated", "call.connected", "call.hungup"]
