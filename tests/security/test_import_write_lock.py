"""One tenant's import must not stall every tenant's writes: a large import's check holds no lock
other writers wait for (on SQLite the write lock is the whole database's), its load releases the
lock between batches, and a tenant administrator's upload has a cap of its own."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from switchboard.bulk import BATCH_SIZE, jobs
from switchboard.settings import Settings
from tests.support.access_world import World, build_world
from tests.support.bulk import IMPORT, NDJSON, bulk_user, finished, lines, start
from tests.support.clients import make_client

# A check of this many users takes a few seconds here: long enough to write during it; the load
# writes them a batch at a time (BATCH_SIZE): a few batches are enough.
USERS = {"checking": 24_000, "loading": 6 * BATCH_SIZE}
PROMPT = 1.0  # seconds: a write that waits on nothing answers in milliseconds
OTHER_TENANTS_USER = "/api/v1/tenants/t2/groups/g1/users/u4@t2.example/"


@pytest.fixture
def client(settings: Settings, global_key: str) -> Iterator[TestClient]:
    with make_client(settings) as test_client:
        test_client.headers["Authorization"] = f"Bearer {global_key}"
        yield test_client
        assert jobs.join_running(60), "an import job was still running"


@pytest.fixture
def world(client: TestClient, global_key: str) -> World:
    return build_world(client, global_key)


def big_file(users: int) -> bytes:
    """A group of t1 and its users: what t1's administrator may import."""
    rows: list[dict[str, Any]] = [{"kind": "group", "tenantId": "t1", "groupId": "big", "userLimit": users}]
    rows += (bulk_user(f"u{n:06}@t1.example", "t1", "big") for n in range(users))
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


def poll_until(client: TestClient, job_id: str, phase: str, counter: str) -> dict[str, Any]:
    """The job once it is in `phase` with a batch or more behind it (on SQLite, a check that held the
    write lock would hold it by now)."""
    deadline = time.monotonic() + 30
    while True:
        job: dict[str, Any] = client.get(f"{IMPORT}{job_id}/").json()
        if job["status"] == "running" and job["phase"] == phase and job[counter] >= BATCH_SIZE:
            return job
        assert job["status"] == "running", job
        assert time.monotonic() < deadline, job
        time.sleep(0.01)


@pytest.mark.timing
@pytest.mark.parametrize(
    ("check_only", "phase", "counter"), [(True, "checking", "rowsChecked"), (False, "loading", "rowsLoaded")]
)
def test_another_tenants_write_is_prompt_during_a_large_import(
    client: TestClient, world: World, check_only: bool, phase: str, counter: str
) -> None:
    headers = {**NDJSON, **world.headers["tenant_admin"]}
    users = USERS[phase]
    job = start(client, big_file(users), headers, {"checkOnly": str(check_only).lower()})
    poll_until(client, job["id"], phase, counter)
    took = []
    for attempt in range(3):
        began = time.monotonic()
        response = client.patch(OTHER_TENANTS_USER, json={"firstName": f"During{attempt}"})
        took.append(time.monotonic() - began)
        assert response.status_code == 200, response.text
    assert max(took) < PROMPT, f"another tenant's write waited {max(took):.2f} s for the import"
    # The writes overlapped the import: it was still at it after them.
    during = client.get(f"{IMPORT}{job['id']}/").json()
    assert (during["status"], during["phase"]) == ("running", phase), during
    assert during[counter] < users + 1, during
    done = finished(client, job["id"])
    assert (done["status"], done["rowsCreated"]) == ("done", users + 1), done
    assert client.get(OTHER_TENANTS_USER).json()["firstName"] == "During2"
    imported = client.get("/api/v1/tenants/t1/groups/big/")
    assert imported.status_code == (404 if check_only else 200)


def test_a_dry_run_leaves_no_copy_of_the_database_behind(client: TestClient, settings: Settings) -> None:
    folder = Path(settings.database_url.removeprefix("sqlite:///")).parent if settings.is_sqlite else None
    tenant = {"kind": "tenant", "tenantId": "x", "type": "Enterprise"}
    job = finished(client, start(client, lines(tenant))["id"])
    assert job["status"] == "done", job
    if folder is not None:
        assert [path.name for path in folder.iterdir() if ".dry-run-" in path.name] == []


def test_a_tenant_administrators_upload_has_its_own_smaller_cap(
    client: TestClient, world: World, settings: Settings
) -> None:
    app: Any = client.app
    app.state.services.settings = settings.model_copy(update={"import_tenant_max_bytes": 300})
    body = lines(*({"kind": "group", "tenantId": "t1", "groupId": f"g{n:02}"} for n in range(10)))
    assert 300 < len(body) < settings.import_max_bytes

    def chunks() -> Iterator[bytes]:  # no Content-Length: refused once past the cap
        yield from (body[i : i + 40] for i in range(0, len(body), 40))

    tenant = {**NDJSON, **world.headers["tenant_admin"]}
    for sent in (body, chunks()):
        response = client.post(IMPORT, content=sent, headers=tenant)
        assert response.status_code == 413, response.text
        assert response.json()["detail"] == (
            "The file is larger than a tenant administrator's import limit of 300 bytes: split it "
            "into smaller files, or have a system administrator import it."
        )
    uploads = settings.data_dir / "imports" / "uploads"
    assert not uploads.exists() or list(uploads.iterdir()) == []
    # Within the cap a tenant administrator imports; the system's own cap is the larger one.
    small = lines({"kind": "group", "tenantId": "t1", "groupId": "ok"})
    assert finished(client, start(client, small, tenant)["id"])["status"] == "done"
    assert finished(client, start(client, body)["id"])["status"] == "done"
