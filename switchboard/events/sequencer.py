"""The sequencer: gives committed events their public sequence numbers, in the order they became
visible, so a reader following `seq` never misses or repeats one.

Why not the table's own key: on PostgreSQL two transactions take keys 7 and 8, and 8 may commit
first; a reader who saw 8 would never go back for 7. Events are written unnumbered; numbering
runs one at a time (a row lock on the high-water counter, held by one process at a time on
PostgreSQL; SQLite has one writer anyway) and numbers, in key order, only the rows already
committed. A transaction committing later gets later numbers. Every process numbers its own
events right after committing them and checks for strays (a process that died in between)
every second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sqlalchemy import BigInteger, bindparam, exists, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from switchboard.db.engine import Database
from switchboard.db.fastwrite import RawTransaction
from switchboard.events.log import EVENTS_CHANNEL
from switchboard.events.models import Event
from switchboard.signals.feed import PG_CHANNEL
from switchboard.signals.models import ChangeCounter

log = logging.getLogger(__name__)

BATCH = 20_000  # events numbered per statement
COALESCE_SECONDS = 0.005


def _ensure(postgres: bool) -> Any:
    # The mark starts at 1, never 0: a subscriber's lastSequenceNumber=0 means "I have seen nothing".
    insert = pg_insert if postgres else sqlite_insert
    return insert(ChangeCounter).values(channel=EVENTS_CHANNEL, value=1).on_conflict_do_nothing()


def _lock() -> Any:
    # The row lock makes numbering one-at-a-time across processes; statements after it see
    # every event committed before it was granted.
    return select(ChangeCounter.value).where(ChangeCounter.channel == EVENTS_CHANNEL).with_for_update()


def _number() -> Any:
    pending = (
        select(Event.pk, func.row_number().over(order_by=Event.pk).label("n"))
        .where(Event.seq.is_(None))
        .order_by(Event.pk)
        .limit(BATCH)
        .subquery()
    )
    return (
        update(Event)
        .where(Event.pk == pending.c.pk)
        .values(seq=bindparam("high", type_=BigInteger) + pending.c.n)
    )


def _top() -> Any:
    return select(func.max(Event.seq).label("top"))


def _set_high() -> Any:
    return update(ChangeCounter).where(ChangeCounter.channel == EVENTS_CHANNEL).values(value=bindparam("top"))


def _notify() -> Any:
    return select(func.pg_notify(PG_CHANNEL, EVENTS_CHANNEL).label("sent"))


async def number_pending(tx: RawTransaction, postgres: bool) -> int:
    """Number the committed, unnumbered events inside `tx`; returns how many."""
    await tx.execute(("seq.ensure", postgres), lambda: _ensure(postgres), {})
    (row,) = await tx.execute("seq.lock", _lock, {})
    high = start = int(row["value"])
    while True:
        await tx.execute("seq.number", _number, {"high": high})
        top = (await tx.execute("seq.top", _top, {}))[0]["top"]
        numbered = max(int(top or 0) - high, 0)
        high += numbered
        if numbered < BATCH:
            break
    if high > start:
        await tx.execute("seq.set_high", _set_high, {"top": high})
        if postgres:
            await tx.execute("seq.notify", _notify, {})
    return high - start


class Sequencer:
    """Runs number_pending in this process: at once when told this process wrote events (poke),
    and every `check_seconds` if a cheap read finds strays."""

    def __init__(self, db: Database, check_seconds: float = 1.0) -> None:
        self._db = db
        self._check_seconds = check_seconds
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._stray = db.reader.compiled(
            "events.any_pending", lambda: select(exists().where(Event.seq.is_(None)).label("any"))
        )

    def poke(self) -> None:
        """Thread-safe: called after a commit that wrote events, from any thread."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake.set()  # events left unnumbered by a previous run
        self._task = asyncio.create_task(self._run(), name="event-sequencer")

    async def stop(self) -> None:
        # A flag, not a cancellation: on Python 3.11 wait_for can swallow one racing its timeout.
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        await self.run_once()  # what this process wrote last is numbered before it goes

    async def run_once(self) -> int:
        """One numbering, on the raw driver in the loop (no ORM, no thread hop: it runs up to
        a couple of hundred times a second under load)."""
        writer = self._db.writer
        try:
            async with writer.transaction() as tx:
                numbered = await number_pending(tx, not self._db.is_sqlite)
        except Exception as exc:  # the database may be away: the next round numbers them
            log.warning("event sequencer: %s", type(exc).__name__)
            return 0
        if numbered:
            self._db.announce(EVENTS_CHANNEL)  # this process's readers, at once (others: NOTIFY)
        return numbered

    async def _run(self) -> None:
        while True:
            poked = False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._check_seconds)
                poked = True
            if self._stopping:
                return
            if poked:
                # Under load, one numbering per few milliseconds serves every event written
                # meanwhile (each run is a transaction, and wakes every waiting reader).
                await asyncio.sleep(COALESCE_SECONDS)
            self._wake.clear()
            if not poked:
                try:
                    row = await self._db.reader.fetch_one(self._stray, {})
                except Exception:  # the database may be away: the next round looks again
                    log.debug("event sequencer: stray check failed", exc_info=True)
                    continue
                if not row or not row["any"]:
                    continue
            await self.run_once()
