"""Idempotency-Key: a retried dial, recording change or lead insert acts once and answers the first
attempt's success; failures are not kept; keys are per credential, checked, and bound to one request."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select, update
from starlette.testclient import TestClient

from switchboard.calls.drivers import asterisk
from switchboard.calls.drivers.base import Origination
from switchboard.calls.drivers.simulated import SimulatedPbx
from switchboard.db.base import utcnow
from switchboard.db.engine import Database
from switchboard.settings import Settings
from switchboard.web import idempotency
from switchboard.web.idempotency import IdempotencyRecord
from tests.support.access_world import World, build_world
from tests.support.asterisk import ServerThread, asterisk_api, pbx_ready, running_pbx, wait_until
from tests.support.calls import CM, noojee, wait_state
from tests.support.clients import make_client
from tests.support.contact_centre import lead_campaigns

CALLS = "/api/v1/calls/"
DIAL = {"extension": "102", "number": "0390001234", "tenantId": "t1"}
N = "/servicemanager/rest/CampaignAPI"


def _key(value: str) -> dict[str, str]:
    return {"Idempotency-Key": value}


def _calls(api: TestClient) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = api.get(CALLS).json()["calls"]
    return items


def _stored(db: Database) -> int:
    with db.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(IdempotencyRecord)) or 0)


@pytest.fixture
def world(api: TestClient, global_key: str) -> World:
    return build_world(api, global_key)


def test_a_dial_sent_twice_with_one_key_places_one_call(api: TestClient, world: World, db: Database) -> None:
    first = api.post(CALLS, json=DIAL, headers=_key("dial-1"))
    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers
    again = api.post(
        CALLS, json={"tenantId": "t1", "number": "0390001234", "extension": "102"}, headers=_key("dial-1")
    )
    # The same request (its fields in another order): the first answer, byte for byte, and no call.
    assert (again.status_code, again.content) == (201, first.content)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert [c["uniqueId"] for c in _calls(api)] == [first.json()["uniqueId"]]
    other = api.post(CALLS, json=DIAL, headers=_key("dial-2"))
    assert other.status_code == 201
    assert other.json()["uniqueId"] != first.json()["uniqueId"]
    assert len(_calls(api)) == 2
    # Without a key nothing is kept, and every dial is a dial.
    assert api.post(CALLS, json=DIAL).status_code == 201
    assert api.post(CALLS, json=DIAL).status_code == 201
    assert (len(_calls(api)), _stored(db)) == (4, 2)


def test_noojee_dial_with_idempotency_key_places_one_call(api: TestClient, world: World) -> None:
    params = {"extenOrUniqueId": "102", "number": "0390001234", "tenantId": "t1", "idempotencyKey": "crm-17"}
    first = api.post(f"{CM}/dial", params=params)
    assert first.status_code == 200, first.text
    session_id = first.json()["SessionID"]
    # The same parameters sent as a form body: the same request, answered as the first was.
    form = api.post(
        f"{CM}/dial",
        content=urlencode(params).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert (form.status_code, form.json()) == (200, {"Code": 0, "Message": "OK", "SessionID": session_id})
    assert [c["uniqueId"] for c in _calls(api)] == [session_id]
    other = api.post(f"{CM}/dial", params={**params, "idempotencyKey": "crm-18"})
    assert other.json()["SessionID"] != session_id
    assert len(_calls(api)) == 2


def test_the_same_key_for_another_request_is_422_and_a_bad_key_400(api: TestClient, world: World) -> None:
    assert api.post(CALLS, json=DIAL, headers=_key("k")).status_code == 201
    other_number = api.post(CALLS, json={**DIAL, "number": "0390001235"}, headers=_key("k"))
    assert other_number.status_code == 422, other_number.text
    assert "different request" in other_number.json()["detail"]
    unique_id = _calls(api)[0]["uniqueId"]
    other_operation = api.post(f"{CALLS}{unique_id}/recording/start/", headers=_key("k"))
    assert other_operation.status_code == 422
    noojee_other = noojee(
        api, "dial", extenOrUniqueId="102", number="0390001234", tenantId="t1", idempotencyKey="k"
    )
    assert (noojee_other.status_code, noojee_other.json()["Code"]) == (422, -422)
    assert noojee_other.json()["Message"].startswith("This idempotencyKey was used for a different request")
    assert len(_calls(api)) == 1
    for bad in ("", "x" * 256):
        refused = api.post(CALLS, json=DIAL, headers=_key(bad))
        assert refused.status_code == 400, refused.text
        assert refused.json()["errors"][0]["field"] == "Idempotency-Key"
    refused = noojee(
        api, "dial", extenOrUniqueId="102", number="0390001234", tenantId="t1", idempotencyKey="ключ"
    )
    assert refused.status_code == 400
    assert refused.json()["Message"].startswith("idempotencyKey:")
    assert api.post(CALLS, json=DIAL, headers=_key("x" * 255)).status_code == 201
    assert len(_calls(api)) == 2


def test_a_key_is_the_credential_s_own(api: TestClient, world: World) -> None:
    """The global key's key is not seen by a tenant key, nor one account's by another's."""
    first = api.post(CALLS, json=DIAL, headers=_key("shared")).json()["uniqueId"]
    by_tenant_key = api.post(CALLS, json=DIAL, headers={**world.headers["tenant_key"], **_key("shared")})
    assert by_tenant_key.status_code == 201
    assert by_tenant_key.json()["uniqueId"] != first
    by_admin = api.post(CALLS, json=DIAL, headers={**world.headers["tenant_admin"], **_key("shared")})
    assert by_admin.status_code == 201
    again = api.post(CALLS, json=DIAL, headers={**world.headers["tenant_admin"], **_key("shared")})
    assert again.json()["uniqueId"] == by_admin.json()["uniqueId"]
    assert len({first, by_tenant_key.json()["uniqueId"], by_admin.json()["uniqueId"]}) == 3
    assert len(_calls(api)) == 3


def test_only_successes_are_kept(api: TestClient, world: World) -> None:
    """A refused request (409: nothing to stop) leaves the key free: its retry acts."""
    unique_id = api.post(CALLS, json=DIAL).json()["uniqueId"]
    wait_state(api, unique_id, "Connected")
    stop = f"{CALLS}{unique_id}/recording/stop/"
    assert api.post(stop, headers=_key("stop-1")).status_code == 409
    assert api.post(f"{CALLS}{unique_id}/recording/start/").status_code == 200
    stopped = api.post(stop, headers=_key("stop-1"))
    assert (stopped.status_code, stopped.json()["state"]) == (200, "stopped")
    assert api.post(stop, headers=_key("stop-1")).json() == stopped.json()
    assert api.post(stop).status_code == 409  # without the key: a second stop, refused


def test_recording_start_twice_with_one_key_makes_one_leg(api: TestClient, world: World) -> None:
    unique_id = api.post(CALLS, json=DIAL).json()["uniqueId"]
    wait_state(api, unique_id, "Connected")
    start = f"{CALLS}{unique_id}/recording/start/"
    first = api.post(start, json={"tag": "t"}, headers=_key("rec-1"))
    assert first.status_code == 200, first.text
    again = api.post(start, json={"tag": "t"}, headers=_key("rec-1"))
    assert (again.status_code, again.json()) == (200, first.json())
    assert api.post(start, json={"tag": "t"}).status_code == 409  # unkeyed: already recording
    recordings = api.get("/api/v1/recordings/", params={"uniqueId": unique_id}).json()["recordings"]
    assert [r["leg"] for r in recordings] == [1]
    # Noojee's stop with idempotencyKey: one stop, the same answer to its retry.
    stop = noojee(api, "stop", extenOrUniqueId=unique_id, idempotencyKey="rec-2")
    assert stop.json() == {"Code": 0, "Message": "OK", "UniqueId": unique_id, "Leg": 1}
    assert noojee(api, "stop", extenOrUniqueId=unique_id, idempotencyKey="rec-2").json() == stop.json()
    assert noojee(api, "start", extenOrUniqueId=unique_id, idempotencyKey="rec-3").json()["Leg"] == 2
    assert noojee(api, "start", extenOrUniqueId=unique_id, idempotencyKey="rec-3").json()["Leg"] == 2
    recordings = api.get("/api/v1/recordings/", params={"uniqueId": unique_id}).json()["recordings"]
    assert [r["leg"] for r in recordings] == [1, 2]


def test_a_lead_insert_sent_twice_with_one_key_inserts_once(
    api: TestClient, anonymous: TestClient, global_key: str
) -> None:
    s = lead_campaigns(api, global_key)
    batch = {"leads": [{"externalId": "a", "fields": {"firstName": "Ann", "phone": "0390000001"}}]}
    first = api.post(s["path"], json=batch, headers=_key("leads-1"))
    assert first.status_code == 200, first.text
    assert first.json()["written"] == 1
    again = api.post(s["path"], json=batch, headers=_key("leads-1"))
    assert (again.status_code, again.json()) == (200, first.json())
    assert api.get(s["path"]).json()["total"] == 1
    # Noojee's insertLeadFast with idempotencyKey (the key in a user key's apiKey: left out of the request).
    template = s["templates"]["TA"]
    url = f"{N}/insertLeadFast?apiKey={s['apikey']}&fTemplateId={template}&fCampaignId={s['campaign']}"
    rows = [{"firstName": "Bo", "phone": "0390000002"}]
    noojee_first = anonymous.post(f"{url}&idempotencyKey=leads-1", json=rows)
    assert [e["Code"] for e in noojee_first.json()["entities"]] == [0]
    noojee_again = anonymous.post(f"{url}&idempotencyKey=leads-1", json=rows)
    assert noojee_again.json() == noojee_first.json()
    assert api.get(s["path"]).json()["total"] == 2
    # Unkeyed, the same row is a new insert (refused as a duplicate number: 105).
    assert [e["Code"] for e in anonymous.post(url, json=rows).json()["entities"]] == [105]


def test_a_key_a_day_old_is_free_again_and_trimmed(api: TestClient, world: World, db: Database) -> None:
    first = api.post(CALLS, json=DIAL, headers=_key("old")).json()["uniqueId"]
    with db.transaction() as session:
        session.execute(update(IdempotencyRecord).values(created_at=utcnow() - timedelta(hours=25)))
    again = api.post(CALLS, json=DIAL, headers=_key("old"))
    assert again.status_code == 201
    assert again.json()["uniqueId"] != first
    assert api.post(CALLS, json=DIAL, headers=_key("new")).status_code == 201
    with db.transaction() as session:
        session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.key == "old")
            .values(created_at=utcnow() - timedelta(hours=25))
        )
        idempotency.trim(session)
    with db.transaction() as session:
        assert session.scalars(select(IdempotencyRecord.key)).all() == ["new"]


def test_a_claim_its_worker_never_finished_is_taken_over(api: TestClient, world: World, db: Database) -> None:
    with db.transaction() as session:
        session.add(
            IdempotencyRecord(
                principal="global_key",
                key="orphan",
                fingerprint="0" * 64,
                claim="gone",
                created_at=utcnow() - idempotency.ABANDONED - timedelta(seconds=1),
            )
        )
    placed = api.post(CALLS, json=DIAL, headers=_key("orphan"))
    assert placed.status_code == 201, placed.text
    assert api.post(CALLS, json=DIAL, headers=_key("orphan")).content == placed.content


@pytest.fixture
def slow_dial(monkeypatch: pytest.MonkeyPatch) -> None:
    """The simulated PBX takes 0.5 s to place a call: long enough for a retry to arrive meanwhile."""
    originate = SimulatedPbx.originate

    async def slowly(self: SimulatedPbx, placed: Origination) -> str:
        await asyncio.sleep(0.5)
        return await originate(self, placed)

    monkeypatch.setattr(SimulatedPbx, "originate", slowly)


def _together(*sends: Callable[[], Any]) -> list[Any]:
    """The requests at the same moment, each from a thread of its own."""
    answers: list[Any | None] = [None] * len(sends)
    start = threading.Barrier(len(sends))

    def run(n: int) -> None:
        start.wait()
        answers[n] = sends[n]()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(sends))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert all(answer is not None for answer in answers)
    return [answer for answer in answers if answer is not None]


def test_two_requests_at_once_with_one_key_place_one_call(
    api: TestClient, world: World, slow_dial: None
) -> None:
    answers = _together(*[lambda: api.post(CALLS, json=DIAL, headers=_key("together"))] * 2)
    assert [a.status_code for a in answers] == [201, 201], [a.text for a in answers]
    assert answers[0].content == answers[1].content
    assert len(_calls(api)) == 1


def test_a_retry_while_the_first_still_runs_is_409_after_its_wait(
    api: TestClient, world: World, slow_dial: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 0.1)

    def retry_meanwhile() -> Any:
        time.sleep(0.15)  # the first has claimed the key and waits for the PBX
        return api.post(CALLS, json=DIAL, headers=_key("busy"))

    first, second = _together(lambda: api.post(CALLS, json=DIAL, headers=_key("busy")), retry_meanwhile)
    assert first.status_code == 201
    assert second.status_code == 409, second.text
    assert second.json()["detail"] == "A request with this Idempotency-Key is still in progress."
    assert len(_calls(api)) == 1
    replayed = api.post(CALLS, json=DIAL, headers=_key("busy"))  # once it has finished
    assert replayed.content == first.content


def test_two_workers_given_one_key_at_once_place_one_call(
    api: TestClient, world: World, settings: Settings, global_key: str, slow_dial: None
) -> None:
    """Two apps on one database, as two worker processes are: the table's unique key decides."""
    with make_client(settings) as second:
        second.headers["Authorization"] = f"Bearer {global_key}"
        answers = _together(
            lambda: api.post(CALLS, json=DIAL, headers=_key("workers")),
            lambda: second.post(CALLS, json=DIAL, headers=_key("workers")),
        )
        assert [a.status_code for a in answers] == [201, 201], [a.text for a in answers]
        assert answers[0].json()["uniqueId"] == answers[1].json()["uniqueId"]
        assert len(_calls(api)) == 1


@pytest.fixture
def pbx() -> Iterator[ServerThread]:
    with running_pbx() as running:
        yield running


def test_a_dial_retried_after_a_pbx_timeout_places_exactly_one_call(
    settings: Settings, global_key: str, pbx: ServerThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Asterisk frozen: the keyed dial answers 504 and the key is not kept; Asterisk resumed: the
    late call is hung up, the retry places the one call, and a retry of that answers it again."""
    monkeypatch.setattr(asterisk, "ACTION_TIMEOUT", 0.5)
    with asterisk_api(settings, global_key, pbx) as api:
        wait_until(lambda: pbx_ready(api), "the AMI login")
        pbx.server.freeze()
        refused = api.post(CALLS, json=DIAL, headers=_key("retry-me"))
        assert refused.status_code == 504, refused.text
        pbx.loop.call_soon_threadsafe(pbx.server.resume)
        wait_until(
            lambda: any(a.get("Action") == "Hangup" for a in pbx.server.actions), "the driver's Hangup"
        )
        originated = [a["ChannelId"] for a in pbx.server.actions if a.get("Action") == "Originate"]
        (late,) = originated
        wait_until(lambda: late not in pbx.server.channels, "the late call to be hung up")
        placed = api.post(CALLS, json=DIAL, headers=_key("retry-me"))
        assert placed.status_code == 201, placed.text
        unique_id = placed.json()["uniqueId"]
        assert unique_id != late
        wait_state(api, unique_id, "Connected")
        assert list(pbx.server.channels) == [unique_id]
        again = api.post(CALLS, json=DIAL, headers=_key("retry-me"))
        assert (again.status_code, again.json()["uniqueId"]) == (201, unique_id)
        assert [a["ChannelId"] for a in pbx.server.actions if a.get("Action") == "Originate"] == [
            late,
            unique_id,
        ]


def test_the_openapi_declares_the_key(api: TestClient) -> None:
    paths = api.get("/api/v1/openapi.json").json()["paths"]
    for path in (
        CALLS,
        "/api/v1/calls/{unique_id}/recording/{action}/",
        "/api/v1/tenants/{tenant_id}/campaigns/{campaign_id}/leads/",
    ):
        operation = paths[path]["post"]
        (header,) = [p for p in operation["parameters"] if p["in"] == "header"]
        assert header["name"] == "Idempotency-Key"
        assert header["schema"]["maxLength"] == 255
        assert {"409", "422"} <= set(operation["responses"])
