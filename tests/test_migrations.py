"""Migrations: upgrade an empty database on both engines, and the models match the history."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import JSON, Boolean, DateTime, Integer, MetaData, create_engine, inspect, select

from switchboard.db.engine import sync_url
from switchboard.db.migrate import upgrade
from switchboard.tables import Base
from tests.support.postgres import scratch_postgres_database


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with scratch_postgres_database("sb_empty") as url:
        yield url


def test_upgrade_on_an_empty_database_creates_every_table_and_matches_the_models(empty_database: str) -> None:
    upgrade(empty_database)
    upgrade(empty_database)  # a second run is a no-op
    engine = create_engine(sync_url(empty_database))
    try:
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        assert "alembic_version" in tables
        with engine.connect() as conn:
            diff = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
            )
        assert diff == [], f"models and migrations disagree: {diff}"
    finally:
        engine.dispose()


def _row(table: Any, **given: Any) -> dict[str, Any]:
    """`given`, and a plain value for every other column the table requires."""
    row = dict(given)
    for column in table.columns:
        if column.name in row or column.nullable or column.primary_key or column.server_default is not None:
            continue
        kind = column.type
        row[column.name] = (
            datetime.now(UTC)
            if isinstance(kind, DateTime)
            else False
            if isinstance(kind, Boolean)
            else 0
            if isinstance(kind, Integer)
            else {}
            if isinstance(kind, JSON)
            else "x"
        )
    return row


def test_existing_leads_go_to_their_campaigns_default_allocation(empty_database: str) -> None:
    upgrade(empty_database, "0010")
    engine = create_engine(sync_url(empty_database))
    try:
        meta = MetaData()
        meta.reflect(engine)
        t = meta.tables
        with engine.begin() as conn:
            conn.execute(
                t["tenants"].insert(),
                _row(t["tenants"], pk=1, type="Enterprise", tenant_id="t", tenant_key="t"),
            )
            conn.execute(
                t["campaign_templates"].insert(),
                _row(
                    t["campaign_templates"],
                    pk=1,
                    tenant_pk=1,
                    dial_mode="preview",
                    dispositions=[],
                    lead_fields=[],
                ),
            )
            for pk in (1, 2, 3):
                conn.execute(
                    t["campaigns"].insert(),
                    _row(
                        t["campaigns"],
                        pk=pk,
                        tenant_pk=1,
                        template_pk=1,
                        name=f"c{pk}",
                        name_key=f"c{pk}",
                        status="active",
                    ),
                )
            for pk, campaign in ((1, 1), (2, 1), (3, 2)):
                conn.execute(
                    t["leads"].insert(),
                    _row(t["leads"], pk=pk, campaign_pk=campaign, priority=10, status="new", fields={}),
                )
        upgrade(empty_database)
        meta = MetaData()
        meta.reflect(engine)
        allocations, leads = meta.tables["allocations"], meta.tables["leads"]
        with engine.connect() as conn:
            made = {
                row.campaign_pk: (row.pk, row.name, row.name_key) for row in conn.execute(select(allocations))
            }
            placed = dict(conn.execute(select(leads.c.pk, leads.c.allocation_pk)).all())
        assert {campaign: (name, key) for campaign, (_, name, key) in made.items()} == {
            1: ("Default", "default"),
            2: ("Default", "default"),
        }  # campaign 3 has no leads: its default is made when a lead first needs it
        assert placed == {1: made[1][0], 2: made[1][0], 3: made[2][0]}
    finally:
        engine.dispose()
