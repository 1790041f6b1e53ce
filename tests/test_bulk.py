"""Bulk import and export: the round trip, idempotence, bad-row reports, the importer's reach, and
an import killed part-way that resumes (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from switchboard.access.principal import CLI_PRINCIPAL, Principal
from switchboard.bulk.importer import Checkpoint, Importer, Problem
from switchboard.bulk.kinds import Kind, Record
from switchboard.cli.demo import load_demo
from switchboard.cli.main import app
from switchboard.db.engine import Database
from switchboard.directory.models import Group, Tenant, User
from switchboard.kit.schemas import Schema
from tests.support.bulk import big_tenant_file, bulk_user, export_to


def _count(db: Database, model: type[object]) -> int:
    with db.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)  # type: ignore[arg-type]


def test_export_then_import_round_trips_exactly_and_twice_changes_nothing(
    db: Database, global_key: str, empty_db: Database, tmp_path: Path
) -> None:
    with db.transaction() as session:
        load_demo(session)
    lines = export_to(db, tmp_path / "first.jsonl")
    csv_dir = export_to(db, tmp_path / "csv")
    assert sorted(p.name for p in csv_dir.iterdir()) == [
        "departments.csv",
        "domains.csv",
        "groups.csv",
        "service_users.csv",
        "tenants.csv",
        "users.csv",
    ]
    loaded = Importer(empty_db, CLI_PRINCIPAL, batch_size=64).load(
        sorted(csv_dir.iterdir()), tmp_path / "checkpoints"
    )
    assert (loaded.created, loaded.updated, loaded.problem_count) == (loaded.rows, 0, 0)
    assert loaded.rows == len(lines.read_text().splitlines())
    assert export_to(empty_db, tmp_path / "second.jsonl").read_bytes() == lines.read_bytes()
    assert _count(empty_db, User) == _count(db, User) > 200
    # The same file again: checked and loaded, nothing changes.
    again = Importer(empty_db, CLI_PRINCIPAL).load([lines], tmp_path / "checkpoints")
    assert (again.created, again.updated, again.unchanged) == (0, 0, loaded.rows)
    # One field changed in the file: exactly that object is updated.
    records = [json.loads(line) for line in lines.read_text().splitlines()]
    user = next(r for r in records if r["kind"] == "user")
    user["title"] = "Head of Bulk"
    changed = tmp_path / "changed.jsonl"
    changed.write_text("".join(json.dumps(r) + "\n" for r in records))
    outcome = Importer(empty_db, CLI_PRINCIPAL).load([changed], tmp_path / "checkpoints")
    assert (outcome.created, outcome.updated) == (0, 1)
    with empty_db.transaction() as session:
        assert (
            session.scalar(select(User.title).where(User.user_key == user["userId"].lower()))
            == "Head of Bulk"
        )


BAD = [
    {"kind": "tenant", "tenantId": "bulk", "type": "Enterprise"},
    {"kind": "domain", "tenantId": "bulk", "domain": "bulk.example"},
    {"kind": "group", "tenantId": "bulk", "groupId": "sales", "userLimit": 5},
    {
        "kind": "user",
        "tenantId": "bulk",
        "groupId": "sales",
        "userId": "a@bulk.example",
        "lastName": "A",
        "firstName": "A",
        "extension": "100",
    },
    {"kind": "user", "tenantId": "bulk", "groupId": "sales", "userId": "b@bulk.example", "firstName": "B"},
    {
        "kind": "user",
        "tenantId": "bulk",
        "groupId": "nope",
        "userId": "c@bulk.example",
        "lastName": "C",
        "firstName": "C",
    },
    {
        "kind": "user",
        "tenantId": "bulk",
        "groupId": "sales",
        "userId": "d@bulk.example",
        "lastName": "D",
        "firstName": "D",
        "extension": "100",
    },
    {
        "kind": "user",
        "tenantId": "bulk",
        "groupId": "sales",
        "userId": "e@other.example",
        "lastName": "E",
        "firstName": "E",
    },
    {"kind": "printer", "name": "x"},
    {
        "kind": "user",
        "tenantId": "bulk",
        "groupId": "sales",
        "userId": "f@bulk.example",
        "lastName": "F",
        "firstName": "F",
        "colour": "red",
    },
]


def test_every_bad_row_is_reported_and_nothing_is_written(
    db: Database, global_key: str, tmp_path: Path, cli_env: Path
) -> None:
    source = tmp_path / "bad.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in BAD) + "{not json\n")
    checked = Importer(db, CLI_PRINCIPAL, batch_size=4).check([source])
    assert checked.problems == [
        Problem("bad.jsonl", 5, "lastName", "Field required"),
        Problem("bad.jsonl", 6, "groupId", "no group 'nope' in tenant 'bulk'"),
        Problem("bad.jsonl", 7, "", "extension 100 is already used in this tenant"),
        Problem(
            "bad.jsonl",
            8,
            "userId",
            "domain other.example is not one of this tenant's domains (nor switchboard.local)",
        ),
        Problem("bad.jsonl", 9, "kind", "one of tenant, domain, group, department, user, service_user"),
        Problem("bad.jsonl", 10, "colour", "Extra inputs are not permitted"),
        Problem("bad.jsonl", 11, "", "not a JSON object"),
    ]
    assert _count(db, Tenant) == 0  # the check wrote nothing
    # The command says the same, exits 1, and writes nothing either.
    result = CliRunner().invoke(app, ["import", str(source)])
    assert result.exit_code == 1, result.output
    assert "bad.jsonl:5: lastName: Field required" in result.output
    assert "7 refused" in result.output
    assert _count(db, Tenant) == 0
    # A CSV file with a column that no kind has is refused as a whole, naming the columns.
    users = tmp_path / "users.csv"
    users.write_text("tenantId,groupId,userId,lastName,firstName,shoeSize\nbulk,sales,x,X,X,44\n")
    (problem,) = Importer(db, CLI_PRINCIPAL).check([users]).problems
    assert problem.line == 1
    assert problem.reason.startswith("unknown columns shoeSize; the columns are tenantId, groupId, userId")


BATCHED = [
    {"kind": "tenant", "tenantId": "bulk", "type": "Enterprise"},
    {"kind": "group", "tenantId": "bulk", "groupId": "small", "userLimit": 3},
    {"kind": "group", "tenantId": "bulk", "groupId": "big"},
    {"kind": "department", "tenantId": "bulk", "name": "Desk"},
    bulk_user("u1", extension="201", department={"departmentName": "Desk"}),
    bulk_user("u1", group="big"),  # 6: the id again, in another group of the same batch
    bulk_user("u2", group="big", extension="201"),  # 7: an extension taken earlier in the batch
    bulk_user("u3", department={"departmentName": "Nowhere"}),  # 8
    bulk_user("u4"),
    bulk_user("u5"),
    bulk_user("u6"),  # 11: the group's limit of 3 is reached by u1, u4, u5
    bulk_user("u7", group="big", extension="202"),
    bulk_user("U7@switchboard.local", group="big", title="Lead"),  # 13: the same user again: a change
]


def test_a_batch_refuses_exactly_what_one_by_one_creation_refuses(
    db: Database, global_key: str, tmp_path: Path
) -> None:
    source = tmp_path / "batched.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in BATCHED))
    batched = Importer(db, CLI_PRINCIPAL, batch_size=100).check([source])
    one_by_one = Importer(db, CLI_PRINCIPAL, batch_size=1).check([source])
    assert (
        batched.problems
        == one_by_one.problems
        == [
            Problem("batched.jsonl", 6, "", "userId 'u1@switchboard.local' is already in use"),
            Problem("batched.jsonl", 7, "", "extension 201 is already used in this tenant"),
            Problem("batched.jsonl", 8, "department.departmentName", "no such department"),
            Problem("batched.jsonl", 11, "", "group 'small' is full (userLimit 3)"),
        ]
    )
    assert (batched.created, batched.updated) == (one_by_one.created, one_by_one.updated) == (8, 1)
    # Without the refused rows, the batch writes the rest, and the groups count their users.
    good = [row for index, row in enumerate(BATCHED, 1) if index not in (6, 7, 8, 11)]
    source.write_text("".join(json.dumps(r) + "\n" for r in good))
    loaded = Importer(db, CLI_PRINCIPAL, batch_size=100).load([source], tmp_path / "checkpoints")
    assert (loaded.created, loaded.updated, loaded.problem_count) == (8, 1, 0)
    with db.transaction() as session:
        counts = {key: count for key, count in session.execute(select(Group.group_key, Group.user_count))}
        desk_users = session.scalar(select(func.count()).where(User.department_pk.is_not(None)))
        title = session.scalar(select(User.title).where(User.user_key == "u7@switchboard.local"))
    assert counts == {"small": 3, "big": 1}
    assert (desk_users, title) == (1, "Lead")


def test_the_load_writes_the_rows_the_check_validated_without_validating_them_again(
    db: Database, global_key: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = [row for index, row in enumerate(BATCHED, 1) if index not in (6, 7, 8, 11, 13)]
    source = tmp_path / "batched.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in good))
    checked = Importer(db, CLI_PRINCIPAL, batch_size=4).check([source], tmp_path / "imports")
    assert checked.validated is not None
    assert checked.validated.path.exists()
    validations: list[Record] = []
    body = Kind.body

    def counted(kind: Kind, record: Record) -> Schema:
        validations.append(record)
        return body(kind, record)

    monkeypatch.setattr(Kind, "body", counted)
    loaded = Importer(db, CLI_PRINCIPAL, batch_size=4).load([source], tmp_path / "imports", checked.validated)
    assert (loaded.created, loaded.problem_count) == (len(good), 0)
    assert [r for r in validations if "userId" in r] == []  # the end users: validated by the check only
    assert not checked.validated.path.exists()
    with db.transaction() as session:
        desk = session.scalar(select(User.department_pk).where(User.user_key == "u1@switchboard.local"))
        extension = session.scalar(select(User.extension).where(User.user_key == "u7@switchboard.local"))
    assert desk is not None
    assert extension == "202"


def test_a_file_changed_after_its_check_is_validated_again_by_the_load(
    db: Database, global_key: str, tmp_path: Path
) -> None:
    source = tmp_path / "users.jsonl"
    rows = [BATCHED[0], BATCHED[1], bulk_user("u1", title="Checked")]
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    checked = Importer(db, CLI_PRINCIPAL).check([source], tmp_path / "imports")
    rows[2] = bulk_user("u1", title="x" * 81)  # too long: the check would have refused it
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    loaded = Importer(db, CLI_PRINCIPAL).load([source], tmp_path / "imports", checked.validated)
    assert loaded.stopped
    assert [p.field for p in loaded.problems] == ["title"]
    assert _count(db, User) == 0


def test_an_import_reaches_only_the_importers_tenant(db: Database, global_key: str, tmp_path: Path) -> None:
    with db.transaction() as session:
        load_demo(session)
        tenant_pk = session.scalar(select(Tenant.pk).where(Tenant.tenant_key == "acme"))
        tenants = list(session.scalars(select(Tenant.tenant_id).order_by(Tenant.tenant_key)))
    admin = Principal("token", "tenant_admin", account_pk=1, tenant_pk=tenant_pk)
    other = next(t for t in tenants if t != "acme")
    rows = [
        {"kind": "group", "tenantId": other, "groupId": "probe"},
        {"kind": "group", "tenantId": "no-such-tenant", "groupId": "probe"},
        {"kind": "group", "tenantId": "acme", "groupId": "acme-bulk"},
        {"kind": "tenant", "tenantId": "mine", "type": "Enterprise"},
    ]
    source = tmp_path / "reach.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    problems = Importer(db, admin).check([source]).problems
    # Another tenant reads exactly as a tenant that does not exist; making tenants is not its right.
    assert [(p.line, p.reason) for p in problems[:2]] == [
        (1, "The requested object was not found."),
        (2, "The requested object was not found."),
    ]
    assert [p.line for p in problems] == [1, 2, 4]
    with db.transaction() as session:
        assert session.scalar(select(func.count()).where(Group.group_key == "probe")) == 0


def test_a_killed_import_leaves_whole_batches_and_resumes(
    db: Database, global_key: str, tmp_path: Path, cli_env: Path
) -> None:
    users = 1200
    source = tmp_path / "big.jsonl"
    source.write_bytes(big_tenant_file(users))
    batch = 100
    command = [sys.executable, "-m", "switchboard", "import", str(source), "--batch-size", str(batch)]
    process = subprocess.Popen(
        command, env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    checkpoint = Checkpoint(cli_env / "imports", [source])
    deadline = time.monotonic() + 120
    while checkpoint.done() < 4 * batch:
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        assert time.monotonic() < deadline, "the import never reached its fourth batch"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    process.stderr.close()  # type: ignore[union-attr]
    saved = checkpoint.done()
    committed = _count(db, User) + 3  # rows: the tenant, domain and group came in the first batch
    assert committed % batch == 0, committed  # whole batches only
    assert checkpoint.done() <= committed <= checkpoint.done() + batch
    assert committed < users + 3  # the tenant, domain and group rows, then the users
    result = CliRunner().invoke(app, ["import", str(source), "--batch-size", str(batch)])
    assert result.exit_code == 0, result.output
    assert f"{saved:,} already imported by an interrupted run" in " ".join(result.output.split())
    assert _count(db, User) == users
    assert not checkpoint.path.exists()  # done: nothing left to resume
