"""The change feed: "channel X changed" reaches every worker process within a fraction of a second.

A writer calls `bump(session, channel)` inside its transaction: the channel's counter row is
incremented and, on PostgreSQL, a NOTIFY is queued (delivered only if the transaction commits).
Each process runs one ChangeFeed: on PostgreSQL it LISTENs (and re-reads the counters every
second as a safety net); on SQLite it polls the counters (a few microseconds a read). The
process that committed is told at once, without waiting for either.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from switchboard.db.fastread import FastReader
from switchboard.signals.models import ChangeCounter

log = logging.getLogger(__name__)

PG_CHANNEL = "switchboard_changes"
CHANGED_KEY = "switchboard.changed_channels"


def bump(session: Session, channel: str) -> None:
    """Record, in the caller's transaction, that `channel` changed."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(ChangeCounter).values(channel=channel, value=1)
    session.execute(
        stmt.on_conflict_do_update(index_elements=["channel"], set_={"value": ChangeCounter.value + 1})
    )
    notify(session, channel)


def notify(session: Session, channel: str) -> None:
    """Tell every process, once the caller's transaction commits, that `channel` changed (the
    caller keeps the channel's counter row itself)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:c, :p)"), {"c": PG_CHANNEL, "p": channel})
    announce_after_commit(session, channel)


def announce_after_commit(session: Session, channel: str) -> None:
    """Tell this process only, once the caller's transaction commits (Database.transaction)."""
    session.info.setdefault(CHANGED_KEY, set()).add(channel)


class ChangeFeed:
    """Calls the subscribers of a channel when any process commits a change on it."""

    def __init__(self, reader: FastReader, poll_seconds: float) -> None:
        self._reader = reader
        self._poll_seconds = poll_seconds
        self._subscribers: dict[str, list[Callable[[], None]]] = defaultdict(list)
        self._seen: dict[str, int] = {}
        self._task: asyncio.Task[None] | None = None
        self._listener: Any = None
        self._query = reader.compiled(
            "change_counters.all", lambda: select(ChangeCounter.channel, ChangeCounter.value)
        )

    def subscribe(self, channel: str, callback: Callable[[], None]) -> None:
        self._subscribers[channel].append(callback)

    def changed(self, channels: Iterable[str]) -> None:
        """Tell this process's subscribers now (after a local commit, or from a listener).

        Callbacks may run on a worker thread: they must be quick and thread-safe (clear a dict).
        """
        for channel in channels:
            for callback in self._subscribers.get(channel, ()):
                callback()

    async def start(self) -> None:
        try:
            if not self._reader.is_sqlite:
                await self._listen()
            await self._poll_once(initial=True)
        except Exception as exc:  # database away at start-up: /readyz says so; we keep trying
            log.warning("change feed: database unavailable at start (%s)", type(exc).__name__)
        self._task = asyncio.create_task(self._run(), name="change-feed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._unlisten()

    async def _run(self) -> None:
        while True:
            try:
                if not self._reader.is_sqlite and self._listener is None:
                    await self._listen()
                await self._poll_once(initial=False)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database may be away; keep trying quietly
                log.warning("change feed: %s", type(exc).__name__)
                await self._unlisten()
            await asyncio.sleep(self._poll_seconds)

    async def _poll_once(self, *, initial: bool) -> None:
        rows = await self._reader.fetch_all(self._query, {})
        changed = []
        for row in rows:
            channel, value = row["channel"], int(row["value"])
            if not initial and self._seen.get(channel) != value:
                changed.append(channel)
            self._seen[channel] = value
        if changed:
            self.changed(changed)

    async def _listen(self) -> None:
        connection = await self._reader.dedicated_connection()

        def on_notify(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
            self.changed([payload])

        try:
            await connection.add_listener(PG_CHANNEL, on_notify)
        except BaseException:
            await connection.close()
            raise
        self._listener = connection
        # Changes committed while we were not listening are found by the next poll.

    async def _unlisten(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()
            self._listener = None
