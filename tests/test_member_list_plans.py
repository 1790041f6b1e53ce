"""A group's users list on SQLite: the page reads the (group, user) index in order and stops at its
limit, the total counts that index alone. SQLite has no statistics here; joined from the tenant's id,
it walked every user of the tenant through another index and sorted them (issue 21)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import true
from sqlalchemy.dialects import sqlite

from switchboard.directory.queries import USERS
from switchboard.kit.pagination import page_request


def _plan(path: Path, stmt: object) -> list[str]:
    compiled = stmt.compile(dialect=sqlite.dialect())  # type: ignore[attr-defined]
    values = {"tenant": "t1", "group": "g1", "limit": 51}
    args = [values.get(name, compiled.binds[name].value) for name in compiled.positiontup]
    with sqlite3.connect(path) as conn:
        return [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {compiled}", args)]


def test_the_first_page_and_its_total_read_the_groups_index(sqlite_template: Path) -> None:
    first = page_request(50, None, None, None)
    page = _plan(sqlite_template, USERS.page(first.variant).where(true()))
    assert any("users USING INDEX ix_users_group_pk_user_key (group_pk=?)" in step for step in page), page
    assert not any("TEMP B-TREE" in step for step in page), page  # in index order: no sort
    total = _plan(sqlite_template, USERS.count(first.filters, true()))
    assert total == [step for step in total if "COVERING INDEX" in step or "SUBQUERY" in step], total
    assert any("users USING COVERING INDEX ix_users_group_pk_user_key" in step for step in total), total
