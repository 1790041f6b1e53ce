"""Bulk import over the API: a background job whose progress is polled (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from switchboard.bulk import jobs
from switchboard.bulk.importer import Checkpoint, Importer, Outcome
from switchboard.db.base import utcnow
from switchboard.db.engine import Database
from switchboard.settings import Settings
from tests.support.access_world import World, build_world, login
from tests.support.bulk import IMPORT, NDJSON, bulk_user, finished, lines, start
from tests.support.clients import make_client
from tests.support.factories import make_tree

PRINCIPALS = ["system", "tenant_admin", "group_admin", "user", "user_key"]


@pytest.fixture
def client(settings: Settings, global_key: str) -> Iterator[TestClient]:
    """The app, holding the global key."""
    test_client = make_client(settings)
    with test_client:
        test_client.headers["Authorization"] = f"Bearer {global_key}"
        yield test_client
        # Every job's thread ends before the database goes away.
        assert jobs.join_running(20), "an import job was still running"


def user(user_id: str, tenant: str = "bulk", group: str = "sales", **fields: Any) -> dict[str, Any]:
    return bulk_user(user_id, tenant, group, **fields)


TREE = [
    {"kind": "tenant", "tenantId": "bulk", "type": "Enterprise"},
    {"kind": "domain", "tenantId": "bulk", "domain": "bulk.example"},
    {"kind": "group", "tenantId": "bulk", "groupId": "sales"},
    user("a@bulk.example", extension="201"),
    user("b@bulk.example", extension="202"),
    user("c@bulk.example"),
]


def uploads(settings: Settings) -> list[Path]:
    root = settings.data_dir / "imports" / "uploads"
    return sorted(root.iterdir()) if root.exists() else []


def test_a_json_lines_import_runs_to_done_and_twice_changes_nothing(
    client: TestClient, settings: Settings
) -> None:
    job = start(client, lines(*TREE))
    assert (job["status"], job["tenantId"], job["checkOnly"], job["file"]) == (
        "running",
        None,
        False,
        "upload.jsonl",
    )
    assert job["createdBy"].startswith("global_key:")
    done = finished(client, job["id"])
    assert done["status"] == "done", done
    assert done["phase"] == "loading"
    rows = (done["rowsTotal"], done["rowsChecked"], done["rowsLoaded"], done["rowsCreated"])
    assert rows == (6, 6, 6, 6)
    assert (done["rowsUpdated"], done["rowsUnchanged"], done["problemCount"], done["problems"]) == (
        0,
        0,
        0,
        [],
    )
    assert done["finishedAt"] is not None
    listed = client.get("/api/v1/tenants/bulk/groups/sales/users/").json()
    assert [u["userId"] for u in listed["users"]] == ["a@bulk.example", "b@bulk.example", "c@bulk.example"]
    assert uploads(settings) == []  # the upload goes when the job ends
    # The same file again: every row unchanged.
    again = finished(client, start(client, lines(*TREE))["id"])
    assert (again["status"], again["rowsCreated"], again["rowsUnchanged"]) == ("done", 0, 6)


def test_a_file_with_a_bad_row_is_refused_and_nothing_is_written(client: TestClient) -> None:
    bad = [*TREE[:4], user("b@bulk.example", lastName=None), user("c@bulk.example", colour="red")]
    bad[4].pop("lastName")
    job = finished(client, start(client, lines(*bad))["id"])
    assert (job["status"], job["phase"], job["rowsChecked"], job["rowsLoaded"]) == (
        "refused",
        "checking",
        6,
        0,
    )
    assert job["problemCount"] == 2
    assert job["problems"] == [
        {"file": "upload.jsonl", "line": 5, "field": "lastName", "reason": "Field required"},
        {"file": "upload.jsonl", "line": 6, "field": "colour", "reason": "Extra inputs are not permitted"},
    ]
    assert client.get("/api/v1/tenants/bulk/").status_code == 404


def test_a_csv_file_of_users_with_its_kind(client: TestClient) -> None:
    make_tree(client)
    body = b"tenantId,groupId,userId,lastName,firstName,extension\r\nt1,g1,x@t1.example,X,Ex,301\r\n"
    body += b"t1,g1,y@t1.example,Y,Why,302\r\n"
    job = start(client, body, {"Content-Type": "text/csv; charset=utf-8"}, {"kind": "users"})
    assert job["file"] == "users.csv"
    done = finished(client, job["id"])
    assert (done["status"], done["rowsTotal"], done["rowsCreated"]) == ("done", 2, 2)
    got = client.get("/api/v1/tenants/t1/groups/g1/users/y@t1.example/").json()
    assert (got["firstName"], got["extension"]) == ("Why", "302")
    # CSV needs its kind; JSON Lines names it per record.
    for headers, params in (
        ({"Content-Type": "text/csv"}, {}),
        ({"Content-Type": "text/csv"}, {"kind": "printers"}),
        (NDJSON, {"kind": "users"}),
    ):
        refused = client.post(IMPORT, content=body, headers=headers, params=params)
        assert refused.status_code == 400, refused.text
        assert refused.json()["errors"][0]["field"] == "kind"


def test_other_media_types_are_415_and_bad_bodies_400(client: TestClient, settings: Settings) -> None:
    for headers in ({"Content-Type": "application/json"}, {"Content-Type": "text/plain"}, {}):
        response = client.post(IMPORT, content=lines(*TREE), headers=headers)
        assert response.status_code == 415, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert "application/x-ndjson" in response.json()["detail"]
    for body, reason in ((b"", "the file is empty"), (b'{"kind": "tenant", "name": "\xff"}\n', "not UTF-8")):
        response = client.post(IMPORT, content=body, headers={"Content-Type": "application/jsonl"})
        assert response.status_code == 400, response.text
        assert reason in response.json()["detail"]
    assert uploads(settings) == []
    assert client.get(IMPORT).json()["total"] == 0


def test_a_file_over_the_size_limit_is_413_and_not_kept(client: TestClient, settings: Settings) -> None:
    app: Any = client.app
    app.state.services.settings = settings.model_copy(update={"import_max_bytes": 100})
    body = lines(*TREE)
    assert len(body) > 100
    declared = client.post(IMPORT, content=body, headers=NDJSON)  # refused on its Content-Length

    def chunks() -> Iterator[bytes]:  # no Content-Length: refused once past the limit
        yield from (body[i : i + 40] for i in range(0, len(body), 40))

    streamed = client.post(IMPORT, content=chunks(), headers=NDJSON)
    for response in (declared, streamed):
        assert response.status_code == 413, response.text
        assert response.json()["title"] == "Content Too Large"
        assert "100 bytes" in response.json()["detail"]
    assert uploads(settings) == []
    assert client.get(IMPORT).json()["total"] == 0
    assert finished(client, start(client, lines(TREE[0]))["id"])["status"] == "done"  # within it


def test_check_only_writes_nothing(client: TestClient) -> None:
    job = finished(client, start(client, lines(*TREE), params={"checkOnly": "true"})["id"])
    assert (job["status"], job["phase"], job["checkOnly"]) == ("done", "checking", True)
    assert (job["rowsChecked"], job["rowsCreated"], job["rowsLoaded"]) == (6, 6, 0)
    assert client.get("/api/v1/tenants/bulk/").status_code == 404


def _world(client: TestClient, global_key: str) -> World:
    world = build_world(client, global_key)
    world.headers["tenant_admin_2"] = {"Authorization": f"Bearer {login(client, 'ta2')}"}
    return world


def test_a_tenant_admin_imports_into_its_own_tenant_only(client: TestClient, global_key: str) -> None:
    world = _world(client, global_key)
    ta1 = world.headers["tenant_admin"]
    rows = [
        {"kind": "group", "tenantId": "t2", "groupId": "probe"},
        {"kind": "group", "tenantId": "t9", "groupId": "probe"},  # t9 does not exist
        user("probe@t2.example", tenant="t2", group="g1"),
        user("probe@t9.example", tenant="t9", group="g1"),
        {"kind": "group", "tenantId": "t1", "groupId": "fine"},
    ]
    job = finished(client, start(client, lines(*rows), {**NDJSON, **ta1})["id"], ta1)
    assert (job["status"], job["tenantId"]) == ("refused", "t1")
    assert job["createdBy"].startswith("account:ta1 via token")
    # Another tenant's objects read exactly as objects that do not exist.
    problems = [(p["line"], p["field"], p["reason"]) for p in job["problems"]]
    not_found = "The requested object was not found."
    assert problems == [
        (1, "", not_found),
        (2, "", not_found),
        (3, "groupId", "no group 'g1' in tenant 't2'"),
        (4, "groupId", "no group 'g1' in tenant 't9'"),
    ]
    assert client.get("/api/v1/tenants/t2/groups/probe/").status_code == 404
    assert client.get("/api/v1/tenants/t1/groups/fine/").status_code == 404  # refused: nothing written
    # Its own tenant's rows alone go in.
    mine = finished(client, start(client, lines(rows[4]), {**NDJSON, **ta1})["id"], ta1)
    assert (mine["status"], mine["rowsCreated"]) == ("done", 1)
    assert client.get("/api/v1/tenants/t1/groups/fine/").status_code == 200


def test_each_principal_sees_the_jobs_of_its_view(client: TestClient, global_key: str) -> None:
    """Matrix-style (the policy matrix sends JSON bodies only): POST and GETs for all five
    principals; O = 2xx, 3 = 403, 4 = 404 identical to a job that does not exist."""
    world = _world(client, global_key)
    t1 = finished(client, start(client, lines(TREE[0]), {**NDJSON, **world.headers["tenant_admin"]})["id"])
    t2 = finished(client, start(client, lines(TREE[0]), {**NDJSON, **world.headers["tenant_admin_2"]})["id"])
    system = finished(client, start(client, lines(TREE[0]))["id"])
    missing = client.get(f"{IMPORT}{'0' * 32}/")
    assert missing.status_code == 404
    matrix = [
        ("POST", IMPORT, "OO333"),
        ("GET", IMPORT, "OO333"),
        ("GET", f"{IMPORT}{t1['id']}/", "OO333"),
        ("GET", f"{IMPORT}{t2['id']}/", "O4333"),
        ("GET", f"{IMPORT}{system['id']}/", "O4333"),
        ("GET", f"{IMPORT}{'f' * 32}/", "44333"),
    ]
    failures = []
    for method, path, codes in matrix:
        for principal, code in zip(PRINCIPALS, codes, strict=True):
            headers = {**NDJSON, **world.headers[principal]}
            body = lines({"kind": "group", "tenantId": "t1", "groupId": f"m-{principal}"})
            response = client.request(
                method, path, content=body if method == "POST" else None, headers=headers
            )
            got = response.status_code
            ok = {"O": 200 <= got < 300, "3": got == 403, "4": got == 404}[code]
            if ok and code == "4":
                ok = response.content == missing.content
            if not ok:
                failures.append(
                    f"{principal:13} {method} {path} expected {code} got {got}: {response.text[:120]}"
                )
    assert not failures, "\n".join(failures)
    # Lists: the system sees every job; a tenant administrator its tenant's.
    ids = {
        name: [job["id"] for job in client.get(IMPORT, headers=world.headers[name]).json()["importJobs"]]
        for name in ("system", "tenant_admin", "tenant_admin_2")
    }
    assert ids["tenant_admin_2"] == [t2["id"]]
    assert t1["id"] in ids["tenant_admin"]
    assert len(ids["tenant_admin"]) == 2  # and its matrix POST's
    assert {t1["id"], t2["id"], system["id"]} < set(ids["system"])
    assert len(ids["system"]) == 5


def test_the_list_is_paged_newest_first(client: TestClient) -> None:
    started = [start(client, lines(TREE[0]), params={"checkOnly": "true"})["id"] for _ in range(3)]
    for job_id in started:
        finished(client, job_id)
    first = client.get(IMPORT, params={"limit": 2}).json()
    assert [job["id"] for job in first["importJobs"]] == started[:0:-1]
    assert (first["total"], first["nextCursor"] is not None) == (3, True)
    second = client.get(IMPORT, params={"limit": 2, "cursor": first["nextCursor"]}).json()
    assert ([job["id"] for job in second["importJobs"]], second["nextCursor"]) == ([started[0]], None)
    refused = client.get(IMPORT, params={"cursor": "bm9wZQ"})
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["field"] == "cursor"


def test_a_dead_job_reads_as_interrupted_and_the_file_again_resumes(
    client: TestClient, db: Database, settings: Settings
) -> None:
    job = finished(client, start(client, lines(*TREE), params={"checkOnly": "true"})["id"])
    with db.transaction() as session:  # as a job whose process died would be left
        row = session.scalars(select(jobs.ImportJob).where(jobs.ImportJob.job_id == job["id"])).one()
        row.status, row.updated_at = "running", utcnow() - timedelta(seconds=61)
    assert client.get(f"{IMPORT}{job['id']}/").json()["status"] == "interrupted"
    # An interrupted load left a checkpoint (keyed by the file's name and contents): the same
    # file posted again resumes after the rows it had written.
    copy = settings.data_dir / "copy" / "upload.jsonl"
    copy.parent.mkdir(parents=True)
    copy.write_bytes(lines(*TREE))
    checkpoint = Checkpoint(jobs.checkpoints_dir(settings.data_dir), [copy])
    checkpoint.save(len(TREE))
    resumed = finished(client, start(client, lines(*TREE))["id"])
    assert (resumed["status"], resumed["rowsSkipped"], resumed["rowsLoaded"]) == ("done", 6, 6)
    assert not checkpoint.path.exists()


def test_progress_is_readable_while_the_check_holds_its_transaction(
    client: TestClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite the check holds the write lock until it ends: the job is still read, live. On
    PostgreSQL the progress is in the database too, for the other server workers."""
    reached, release = threading.Event(), threading.Event()

    class Pausing(Importer):
        def check(self, paths: list[Path], keep: Path | None = None) -> Outcome:
            advance = self._progress

            def pause(rows: int) -> None:
                advance(rows)
                reached.set()
                assert release.wait(20)

            self._progress = pause
            return super().check(paths, keep)

    monkeypatch.setattr(jobs, "Importer", Pausing)
    monkeypatch.setattr(jobs, "SAVE_EVERY", 0.0)
    job_id = start(client, lines(*TREE))["id"]
    try:
        assert reached.wait(20)
        began = time.monotonic()
        job = client.get(f"{IMPORT}{job_id}/").json()
        assert time.monotonic() - began < 2  # not waiting for a lock
        assert (job["status"], job["phase"], job["rowsTotal"], job["rowsChecked"]) == (
            "running",
            "checking",
            6,
            6,
        )
        assert [j["id"] for j in client.get(IMPORT).json()["importJobs"]] == [job_id]
        if not db.is_sqlite:
            with db.transaction() as session:
                row = session.scalars(select(jobs.ImportJob).where(jobs.ImportJob.job_id == job_id)).one()
                assert (row.status, row.phase, row.rows_total, row.rows_checked) == (
                    "running",
                    "checking",
                    6,
                    6,
                )
    finally:
        release.set()
    assert finished(client, job_id)["status"] == "done"


def test_an_unexpected_error_fails_the_job_without_saying_why(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(paths: object) -> int:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(jobs, "count_rows", broken)
    job = finished(client, start(client, lines(*TREE))["id"])
    assert (job["status"], job["phase"], job["message"]) == ("failed", "counting", jobs.FAILED)
    assert "secret internals" not in json.dumps(job)
    assert "secret internals" in caplog.text  # the server's log has it


def test_the_routes_are_documented(client: TestClient) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    post = paths[IMPORT]["post"]
    assert set(post["requestBody"]["content"]) == {"application/x-ndjson", "application/jsonl", "text/csv"}
    assert {"202", "413", "415", "403"} <= set(post["responses"])
    assert "Location" in post["responses"]["202"]["headers"]
    assert post["responses"]["202"]["content"]["application/json"]["schema"]["$ref"].endswith("/ImportJobOut")
    assert "checkOnly" in {p["name"] for p in post["parameters"]}
    job = paths[f"{IMPORT}{{job_id}}/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert job["$ref"].endswith("/ImportJobOut")
