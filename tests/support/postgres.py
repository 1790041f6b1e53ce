"""Scratch PostgreSQL databases on the test server, for tests that need one of their own."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine.url import make_url

from switchboard.db.engine import sync_url

PG_ENV = "SWITCHBOARD_TEST_DATABASE_URL"


@contextmanager
def scratch_postgres_database(prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on the test server, dropped afterwards (skips without one)."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(
            f"no PostgreSQL: {PG_ENV} is not set, and `make test` found no server at 127.0.0.1:5432"
            " (start one with trust authentication and a database `test`, or set the variable)"
        )
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(sync_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
