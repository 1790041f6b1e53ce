"""The sequencer: public numbers follow the order events became visible, not the order of keys."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from switchboard.db.base import utcnow
from switchboard.db.engine import Database
from switchboard.db.migrate import upgrade
from switchboard.events import sequencer
from switchboard.events.delivery import fan_out, trim
from switchboard.events.log import EVENTS_CHANNEL, record_event
from switchboard.events.models import Event
from switchboard.signals.models import ChangeCounter
from tests.support.postgres import scratch_postgres_database


@pytest.fixture
def pg_database() -> Iterator[Database]:
    with scratch_postgres_database("sb_seq") as url:
        upgrade(url)
        database = Database(url)
        yield database
        database.engine.dispose()


def number_pending(db: Database) -> int:
    """One run of the sequencer, on its raw driver as the server runs it."""

    async def run() -> int:
        await db.reader.open()
        await db.writer.open()
        try:
            async with db.writer.transaction() as tx:
                return await sequencer.number_pending(tx, not db.is_sqlite)
        finally:
            await db.writer.close()
            await db.reader.close()

    return asyncio.run(run())


def numbered(db: Database) -> list[tuple[int | None, str]]:
    with db.transaction() as session:
        return [(e.seq, e.data["name"]) for e in session.scalars(select(Event).order_by(Event.pk))]


def test_an_event_committed_late_is_numbered_after_those_already_read(pg_database: Database) -> None:
    """PostgreSQL hands out keys at insert and transactions commit in any order: key 1 may
    commit after key 2. A reader that has seen 2's number must still receive 1 later."""
    with pg_database.sessions() as slow:
        slow.begin()
        record_event(slow, "lead.created", None, {"name": "slow"})  # key 1, still uncommitted
        slow.flush()
        with pg_database.transaction() as session:
            record_event(session, "lead.created", None, {"name": "fast"})  # key 2, committed
        assert number_pending(pg_database) == 1
        assert numbered(pg_database) == [(2, "fast")]  # "slow" not visible yet: not numbered, not readable
        slow.commit()
    assert number_pending(pg_database) == 1
    assert number_pending(pg_database) == 0
    # Key order slow, fast; number order fast, slow: whoever saw 2 as the high-water mark
    # still receives "slow", numbered 3.
    assert numbered(pg_database) == [(3, "slow"), (2, "fast")]
    with pg_database.transaction() as session:
        assert session.scalar(select(ChangeCounter.value).where(ChangeCounter.channel == EVENTS_CHANNEL)) == 3


def test_numbering_continues_from_the_high_water_mark(db: Database) -> None:
    with db.transaction() as session:
        for name in ("a", "b", "c"):
            record_event(session, "lead.created", None, {"name": name})
    assert number_pending(db) == 3
    with db.transaction() as session:
        record_event(session, "lead.created", None, {"name": "d"})
    assert number_pending(db) == 1
    # The log starts at 1 (a subscriber's 0 means "nothing seen"): the first event is 2.
    assert numbered(db) == [(2, "a"), (3, "b"), (4, "c"), (5, "d")]


def test_retention_trims_old_events_once_fanned_out(db: Database) -> None:
    old = utcnow() - timedelta(days=8)
    with db.transaction() as session:
        record_event(session, "lead.created", None, {"name": "old, fanned out"}, at=old)
        record_event(session, "lead.created", None, {"name": "new"})
    number_pending(db)
    with db.transaction() as session:
        assert fan_out(session) == 2  # no subscriptions: the cursor moves past both
        record_event(session, "lead.created", None, {"name": "old, not yet fanned out"}, at=old)
    number_pending(db)
    with db.transaction() as session:
        trim(session, days=7)
    assert [name for _, name in numbered(db)] == ["new", "old, not yet fanned out"]
