"""SQLite out of space (PRAGMA max_page_count): a clear 503, nothing half-written, no corruption, and
writes work again once there is room, without a restart."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from starlette.testclient import TestClient

from switchboard.settings import Settings
from tests.support.calls import wait_state
from tests.support.clients import make_client
from tests.support.faults import LEAD_TEMPLATE, initialised, lead_batch
from tests.support.intensity import scaled

ROUNDS = scaled(1, 10)  # fill-and-free rounds
SPARE_CALLS = 30  # live calls to start recordings on until one is refused (a page holds fewer)
TAG = "T" * 100  # the longest tag: a recording and its event take a good part of a page
LEADS_PER_BATCH = 20
FULL = (
    "The database is out of storage space: nothing was written. Writes will work again once the "
    "operator frees space; reads are unaffected."
)
ROOMY = 1 << 30  # pages: SQLite's own default ceiling is larger than any test needs
T1 = "/api/v1/tenants/t1"


class Disk:
    """The database's size limit on every connection that writes: the engine's (set as each is
    checked out of the pool) and the raw hot-path writer's (call records, event numbering)."""

    def __init__(self, client: TestClient, path: Path) -> None:
        self.path = path
        self.pages = ROOMY
        self._client = client
        event.listen(client.app.state.services.db.engine, "checkout", self._on_checkout)  # type: ignore[attr-defined]

    def _on_checkout(self, dbapi_connection: Any, *_: Any) -> None:
        dbapi_connection.execute(f"PRAGMA max_page_count={self.pages}")

    def limit(self, pages: int) -> None:
        self.pages = pages
        # The raw writer keeps one connection open for the process (FastWriter): limit it as well.
        writer = self._client.app.state.services.db.writer._sqlite  # type: ignore[attr-defined]
        writer.execute(f"PRAGMA max_page_count={pages}")

    def fill(self) -> None:
        """No room for one more page than the file has now."""
        self.limit(int(self.column("PRAGMA page_count")[0]))

    def free(self) -> None:
        self.limit(ROOMY)

    def integrity(self) -> list[str]:
        return self.column("PRAGMA integrity_check")

    def column(self, sql: str) -> list[Any]:
        """The first column of a query's rows, read from the file by a connection of the test's own."""
        conn = sqlite3.connect(self.path)
        try:
            return [row[0] for row in conn.execute(sql)]
        finally:
            conn.close()


@pytest.fixture
def full_disk_api(sqlite_template: Path, tmp_path: Path) -> Iterator[tuple[TestClient, Disk, str]]:
    path = tmp_path / "switchboard.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    key = initialised(url)
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=url,
        argon2_time_cost=1,
        argon2_memory_kib=64,
        sim_ring_seconds=0.0,
        sim_answer_seconds=0.0,
    )
    client = make_client(settings)
    disk = Disk(client, path)
    with client:
        client.headers["Authorization"] = f"Bearer {key}"
        yield client, disk, key


def _user(user_id: str) -> dict[str, str]:
    # Long names: each user takes a good part of a page, so the file fills in a few dozen writes.
    return {"userId": f"{user_id}@t1.example", "firstName": "F" * 80, "lastName": "L" * 80}


def _ok(response: Any, status: int = 201) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _is_full(response: Any, noojee: bool = False) -> bool:
    if noojee:
        return bool(response.status_code == 503 and response.json() == {"Code": -503, "Message": FULL})
    return bool(
        response.status_code == 503
        and response.headers["content-type"] == "application/problem+json"
        and response.json()
        == {"type": "about:blank", "title": "Service Unavailable", "status": 503, "detail": FULL}
    )


def _until_full(send: Callable[[int], Any], what: str, noojee: bool = False, attempts: int = 400) -> int:
    """Send until the database refuses for want of room; how many sends were acknowledged before.
    SQLite fills page by page, so small writes may fit after a larger one was refused: each kind of
    write is driven to its own refusal. Every answer is a success or that one clear refusal."""
    for n in range(attempts):
        answer = send(n)
        if answer.status_code == 503:
            assert _is_full(answer, noojee), (what, answer.text)
            return n
        assert answer.status_code in (200, 201), (what, answer.status_code, answer.text)
        if noojee:
            assert answer.json()["Code"] == 0, (what, answer.text)
        if "results" in answer.json():  # a lead batch: every row written
            assert {row["code"] for row in answer.json()["results"]} == {0}, (what, answer.text)
    raise AssertionError(f"{what}: never refused in {attempts} attempts")


class World:
    """Tenant t1 with users on extensions 201-203 and a campaign; what was acknowledged, what refused."""

    def __init__(self, api: TestClient, key: str) -> None:
        self.api = api
        _ok(api.post("/api/v1/tenants/", json={"tenantId": "t1", "type": "Enterprise"}))
        _ok(api.post(f"{T1}/domains/", json={"domain": "t1.example"}))
        _ok(api.post(f"{T1}/groups/", json={"groupId": "g1", "userLimit": 100_000}))
        for extension in ("201", "202", "203"):
            _ok(api.post(f"{T1}/groups/g1/users/", json={**_user(f"x{extension}"), "extension": extension}))
        policy = _ok(api.get(f"{T1}/dialling-policy/"), 200)
        _ok(api.put(f"{T1}/dialling-policy/", json={**policy, "maxConcurrentCalls": 1000}), 200)
        template = _ok(api.post(f"{T1}/campaign-templates/", json=LEAD_TEMPLATE))["id"]
        campaign = _ok(api.post(f"{T1}/campaigns/", json={"name": "c", "templateId": template}))["id"]
        self.leads_path = f"{T1}/campaigns/{campaign}/leads/"
        self.noojee_path = (
            f"/servicemanager/rest/CampaignAPI/insertLeadFast?apiKey={key}"
            f"&fTemplateId={template}&fCampaignId={campaign}"
        )
        self.users = 3
        self.leads: set[str] = set()
        self.refused_leads: set[str] = set()

    def dial(self, extension: str) -> Any:
        return self.api.post("/api/v1/calls/", json={"extension": extension, "number": "0390001234"})

    def user(self, name: str) -> Any:
        return self.api.post(f"{T1}/groups/g1/users/", json=_user(name))

    def lead_batch(self, prefix: str) -> Any:
        return self.api.post(self.leads_path, json=lead_batch(prefix, LEADS_PER_BATCH))

    def noojee_lead(self, external_id: str) -> Any:
        phone = f"04{abs(hash(external_id)) % 10**8:08}"  # mobile numbers: no clash with lead_batch's
        row = {"firstName": "N", "phone": phone, "njExternalLeadId": external_id}
        return self.api.post(self.noojee_path, json=[row])


def _round(world: World, disk: Disk, r: str) -> None:
    """Fill the disk, drive every kind of write to its refusal, free the disk, check and write again."""
    api = world.api
    live = _ok(world.dial("201"))["uniqueId"]
    spares = [_ok(world.dial("202"))["uniqueId"] for _ in range(SPARE_CALLS)]  # to start recordings on
    for unique_id in (live, *spares):
        wait_state(api, unique_id, "Connected")
    tenant = _ok(api.get(f"{T1}/"), 200)

    disk.fill()
    world.users += _until_full(lambda n: world.user(f"{r}u{n}"), "user")
    assert _ok(api.get(f"{T1}/"), 200) == tenant  # reads go on
    # A batch of leads is one transaction with its events: written whole, or refused whole.
    batches = _until_full(lambda n: world.lead_batch(f"{r}b{n}x"), "lead batch")
    world.leads |= {f"{r}b{n}x{i:03}" for n in range(batches) for i in range(LEADS_PER_BATCH)}
    world.refused_leads |= {f"{r}b{batches}x{i:03}" for i in range(LEADS_PER_BATCH)}
    singles = _until_full(lambda n: world.noojee_lead(f"{r}n{n}"), "Noojee insert", noojee=True)
    world.leads |= {f"{r}n{n}" for n in range(singles)}
    world.refused_leads.add(f"{r}n{singles}")
    # Recording starts go through the raw hot-path writer: refused clearly too (never a 500), and a
    # recording the PBX started but the database could not record is stopped again.
    recorded = _until_full(
        lambda n: api.post(f"/api/v1/calls/{spares[n]}/recording/start/", json={"tag": TAG}),
        "recording",
        attempts=SPARE_CALLS,
    )
    not_recorded = spares[recorded]
    # A dial whose call cannot be recorded is refused, and the call it placed is ended again.
    dialled: list[str] = []

    def dial_and_hang_up(n: int) -> Any:
        answer = world.dial("203")
        if answer.status_code == 201:
            dialled.append(answer.json()["uniqueId"])
            _ok(api.post(f"/api/v1/calls/{dialled[-1]}/hangup/"), 200)
        return answer

    _until_full(dial_and_hang_up, "dial")
    # Hanging up a call: the PBX ends it now; its record waits for room instead of being lost.
    _ok(api.post(f"/api/v1/calls/{live}/hangup/"), 200)
    assert disk.integrity() == ["ok"]

    disk.free()
    assert disk.integrity() == ["ok"]
    for unique_id in (live, *dialled):
        wait_state(api, unique_id, "Hungup")  # the hang-ups held while the disk was full
    assert _ok(api.get("/api/v1/recordings/", params={"uniqueId": not_recorded}), 200)["recordings"] == []
    # The PBX is not recording it either: it may be started now (else 409, already recording).
    _ok(api.post(f"/api/v1/calls/{not_recorded}/recording/start/"), 200)
    for unique_id in spares:
        _ok(api.post(f"/api/v1/calls/{unique_id}/hangup/"), 200)
        wait_state(api, unique_id, "Hungup")
    driver = api.app.state.services.calls.driver  # type: ignore[attr-defined]
    assert api.portal.call(driver.live_calls) == []  # type: ignore[union-attr]  # nothing rings on
    calls = _ok(api.get("/api/v1/calls/", params={"limit": 500}), 200)["calls"]
    assert [c["uniqueId"] for c in calls if not c["endedAt"]] == []
    # Writes work again at once, on every path: the ORM, lead batches, the Noojee surface, calls.
    _ok(world.user(f"{r}after"))
    world.users += 1
    assert {row["code"] for row in _ok(world.lead_batch(f"{r}after"), 200)["results"]} == {0}
    world.leads |= {f"{r}after{i:03}" for i in range(LEADS_PER_BATCH)}
    assert _ok(world.noojee_lead(f"{r}n-after"), 200)["Code"] == 0
    world.leads.add(f"{r}n-after")
    again = _ok(world.dial("203"))["uniqueId"]
    wait_state(api, again, "Connected")
    _ok(api.post(f"/api/v1/calls/{again}/hangup/"), 200)
    wait_state(api, again, "Hungup")


def test_a_full_sqlite_database_refuses_writes_clearly_corrupts_nothing_and_recovers(
    full_disk_api: tuple[TestClient, Disk, str],
) -> None:
    api, disk, key = full_disk_api
    world = World(api, key)
    for r in range(ROUNDS):
        _round(world, disk, f"r{r}")
    # Everything acknowledged is there, once; nothing refused is there at all.
    users = disk.column("SELECT user_id FROM users")
    assert len(users) == len(set(users)) == world.users
    leads = disk.column("SELECT external_id FROM leads")
    assert len(leads) == len(set(leads))
    assert set(leads) == world.leads
    assert not world.refused_leads & set(leads)
    assert disk.integrity() == ["ok"]
