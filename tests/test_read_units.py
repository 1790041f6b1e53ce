"""Database.reading: read-only units of work that never wait for a writer and never write."""

from __future__ import annotations

import asyncio
import threading
from contextlib import nullcontext

import pytest
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from switchboard.db.engine import Database
from switchboard.signals.models import ChangeCounter

CHANNEL = "test.reading"


def _value(db: Database) -> int | None:
    with db.reading() as session:
        return session.scalar(select(ChangeCounter.value).where(ChangeCounter.channel == CHANNEL))


def test_a_read_does_not_wait_for_a_writer_and_sees_what_was_committed(db: Database) -> None:
    """On SQLite a unit of work holds the file's one write lock from its start (BEGIN IMMEDIATE):
    a read made as a unit of work waited for it (10 s, then 503). A read-only one does not."""
    with db.transaction() as session:
        session.add(ChangeCounter(channel=CHANNEL, value=1))
    with db.transaction() as session:
        session.get(ChangeCounter, CHANNEL).value = 2  # type: ignore[union-attr]
        session.flush()  # written, not committed: the write lock is held until the block ends
        assert _value(db) == 1
    assert _value(db) == 2


def test_a_write_in_a_read_never_persists(db: Database) -> None:
    # SQLite refuses it (query_only); elsewhere the unit of work ends in a rollback.
    refused = pytest.raises(SQLAlchemyError) if db.is_sqlite else nullcontext()
    with refused, db.reading() as session:
        session.add(ChangeCounter(channel=CHANNEL, value=1))
        session.flush()
    assert _value(db) is None


def test_read_from_the_event_loop_does_not_wait_for_a_writer(db: Database) -> None:
    """Database.read: the same read-only unit of work, from a coroutine (on SQLite in the loop's
    own thread: no thread hop, and nothing it could wait on)."""
    with db.transaction() as session:
        session.add(ChangeCounter(channel=CHANNEL, value=1))

    def read(session: Session) -> tuple[int | None, int]:
        value = session.scalar(select(ChangeCounter.value).where(ChangeCounter.channel == CHANNEL))
        return value, threading.get_ident()

    with db.transaction() as session:
        session.get(ChangeCounter, CHANNEL).value = 2  # type: ignore[union-attr]
        session.flush()  # the write lock held (SQLite) until the block ends
        value, thread = asyncio.run(db.read(read))
    assert value == 1
    assert (thread == threading.get_ident()) is db.is_sqlite
