"""Bulk import and export data: JSON Lines records, a big tenant's file, and an export to a path."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from switchboard.access.principal import CLI_PRINCIPAL
from switchboard.bulk import jobs
from switchboard.bulk.exporter import export
from switchboard.bulk.formats import Writer
from switchboard.db.engine import Database

IMPORT = "/api/v1/import/"


def export_to(db: Database, target: Path) -> Path:
    """The directory exported to `target`: JSON Lines if it ends in .jsonl, else CSV files in a folder."""
    writer = Writer(target, csv_files=target.suffix != ".jsonl")
    try:
        export(db, CLI_PRINCIPAL, writer)
    finally:
        writer.close()
    return target


def bulk_user(user_id: str, tenant: str = "bulk", group: str = "small", **fields: Any) -> dict[str, Any]:
    """An end user's JSON Lines record, with the required names filled in."""
    return {
        "kind": "user",
        "tenantId": tenant,
        "groupId": group,
        "userId": user_id,
        "lastName": "L",
        "firstName": "F",
        **fields,
    }


def big_tenant_file(users: int) -> bytes:
    """JSON Lines of one tenant "big" with one group "all" of `users` users (u000000@big.example...)."""
    rows = [
        {"kind": "tenant", "tenantId": "big", "type": "Enterprise"},
        {"kind": "domain", "tenantId": "big", "domain": "big.example"},
        {"kind": "group", "tenantId": "big", "groupId": "all", "userLimit": 100_000},
    ] + [
        {
            "kind": "user",
            "tenantId": "big",
            "groupId": "all",
            "userId": f"u{n:06}@big.example",
            "lastName": f"L{n}",
            "firstName": "F",
            "extension": str(10_000 + n),
        }
        for n in range(users)
    ]
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


def finished_import(client: TestClient, job_id: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """The job once its thread has ended, as it then reads.

    Polled until it no longer reads as running, then read again once the job's thread is gone: the
    thread shows its outcome in memory first, then sets finishedAt, saves its end to the database,
    leaves memory and deletes its upload. A test acting on the first answer could race those steps
    (a row the thread then overwrites, an upload not yet deleted)."""
    deadline = time.monotonic() + 20
    while True:
        response = client.get(f"{IMPORT}{job_id}/", headers=headers)
        assert response.status_code == 200, response.text
        if response.json()["status"] != "running":
            break
        assert time.monotonic() < deadline, f"the job is still running: {response.json()}"
        time.sleep(0.02)
    assert jobs.join_running(20), "the import job's thread did not end"
    response = client.get(f"{IMPORT}{job_id}/", headers=headers)
    assert response.status_code == 200, response.text
    job: dict[str, Any] = response.json()
    return job
