"""Noojee's subscribe long-poll: an extension's call events after a sequence number, waiting for
the first one without spinning.

A waiting request costs a registered future and nothing else. When the sequencer (in any
process) moves the high-water mark, the change feed tells this process's EventHub, which reads
the newly numbered events once (sequence, tenant, extension) and wakes only the waiters of those
extensions; they then read their own events with one indexed query per extension.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from switchboard.access.principal import Principal
from switchboard.calls.models import Call
from switchboard.calls.service import call_facts, resolve_extension
from switchboard.db.engine import Database
from switchboard.db.fastread import FastReader
from switchboard.directory.models import Tenant
from switchboard.events.log import EVENTS_CHANNEL
from switchboard.events.models import Event
from switchboard.signals.models import ChangeCounter

log = logging.getLogger(__name__)

Key = tuple[int | None, str]  # (tenant pk, extension)
MAX_EVENTS = 500  # per reply; a client behind follows `seq` for the rest


@dataclass(frozen=True, slots=True)
class CallSeen:
    """A call's state as a reply reports it: an event's payload or a live call's facts
    (calls.service.call_facts); each surface renders it in its own shape."""

    facts: Mapping[str, Any]
    state: str
    unique_id: str


@dataclass(frozen=True, slots=True)
class PollResult:
    calls: dict[str, list[CallSeen]]  # by extension, as the client named them, in order
    seq: int  # the sequence number to send next time
    time_zones: dict[str, str]  # each extension's tenant's time zone ('' is UTC)


@dataclass(frozen=True, slots=True)
class EventQueries:
    high_water: Any
    after: Any
    numbered_since: Any

    @classmethod
    def compile(cls, reader: FastReader) -> EventQueries:
        return cls(
            reader.compiled(
                "events.high_water",
                lambda: select(ChangeCounter.value).where(ChangeCounter.channel == EVENTS_CHANNEL),
            ),
            reader.compiled(
                "events.extension_after",
                lambda: (
                    select(Event.seq, Event.unique_id, Event.data)
                    .where(
                        Event.tenant_pk == bindparam("tenant_pk"),
                        Event.extension == bindparam("extension"),
                        Event.seq > bindparam("after"),
                        Event.seq <= bindparam("upto"),
                        Event.kind.startswith("call."),
                    )
                    .order_by(Event.seq)
                    .limit(MAX_EVENTS)
                ),
            ),
            reader.compiled(
                "events.numbered_since",
                lambda: (
                    select(Event.seq, Event.tenant_pk, Event.extension)
                    .where(Event.seq > bindparam("after"))
                    .order_by(Event.seq)
                    .limit(5000)
                ),
            ),
        )


def high_water_of(value: int | None) -> int:
    return 1 if value is None else int(value)  # None: the empty log (sequencer.number_pending)


class EventHub:
    """Per process: waits for events on extensions, woken by the change feed."""

    def __init__(self, reader: FastReader) -> None:
        self._reader = reader
        self.queries = EventQueries.compile(reader)
        self._waiters: dict[Key, set[asyncio.Future[None]]] = defaultdict(set)
        self._kick = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._last: int | None = None

    @property
    def closed(self) -> bool:
        return self._stopping

    async def high_water(self) -> int:
        row = await self._reader.fetch_one(self.queries.high_water, {})
        return high_water_of(row["value"] if row else None)

    def changed(self) -> None:
        """Change-feed callback (any thread): the high-water mark moved somewhere."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._kick.set)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._kick.set()
        self._task = asyncio.create_task(self._run(), name="event-hub")

    async def stop(self) -> None:
        self._stopping = True
        self._kick.set()
        if self._task is not None:
            await self._task
            self._task = None
        for waiters in self._waiters.values():
            for future in waiters:
                if not future.done():
                    future.set_result(None)

    @property
    def waiting(self) -> int:
        """Futures registered now (one per waiting poll)."""
        return len({future for waiters in self._waiters.values() for future in waiters})

    @contextlib.contextmanager
    def watching(self, keys: Sequence[Key]) -> Iterator[asyncio.Future[None]]:
        """A future resolved when an event on one of `keys` is numbered. Register before reading,
        so an event numbered between the read and the wait is not missed."""
        future = asyncio.get_running_loop().create_future()
        for key in keys:
            self._waiters[key].add(future)
        try:
            yield future
        finally:
            for key in keys:
                waiters = self._waiters.get(key)
                if waiters is not None:
                    waiters.discard(future)
                    if not waiters:
                        del self._waiters[key]

    async def _run(self) -> None:
        while True:
            await self._kick.wait()
            self._kick.clear()
            if self._stopping:
                return
            try:
                await self._dispatch()
            except Exception as exc:  # the database may be away; the next change retries
                log.warning("event hub: %s", type(exc).__name__)
                await asyncio.sleep(0.5)

    async def _dispatch(self) -> None:
        if self._last is None:
            self._last = await self.high_water()
            return
        rows = await self._reader.fetch_all(self.queries.numbered_since, {"after": self._last})
        for row in rows:
            for future in self._waiters.get((row["tenant_pk"], row["extension"]), ()):
                if not future.done():
                    future.set_result(None)
        if rows:
            self._last = int(rows[-1]["seq"])
            if len(rows) == 5000:
                self._kick.set()

    async def events_after(
        self, keys: Sequence[Key], after: int, upto: int
    ) -> dict[Key, list[dict[str, Any]]]:
        """Each extension's call events numbered in (after, upto], oldest first."""
        found: dict[Key, list[dict[str, Any]]] = {}
        for tenant_pk, extension in keys:
            found[(tenant_pk, extension)] = await self._reader.fetch_all(
                self.queries.after,
                {"tenant_pk": tenant_pk, "extension": extension, "after": after, "upto": upto},
            )
        return found


@dataclass(frozen=True, slots=True)
class Opening:
    """A poll from lastSequenceNumber=0: the live calls, and the high-water mark read before them."""

    high: int
    calls: dict[Key, list[CallSeen]]


@dataclass(frozen=True, slots=True)
class Poll:
    extensions: list[str]  # as the client named them, in order
    keys: list[Key]
    time_zones: dict[int | None, str]  # of the keys' tenants


class Subscriptions:
    """The subscribe operation, shared by every request of the process."""

    def __init__(self, db: Database, hub: EventHub, max_timeout: float) -> None:
        self._db = db
        self._hub = hub
        self.max_timeout = max_timeout

    @property
    def waiting(self) -> int:
        """Polls of this process waiting now."""
        return self._hub.waiting

    @staticmethod
    def _open(
        principal: Principal, raw: Sequence[str], tenant_id: str | None, snapshot: bool, session: Session
    ) -> tuple[Poll, Opening | None]:
        """The extensions, and (`snapshot`) their live calls with the high-water mark read before
        them: one read-only unit of work."""
        resolved = [resolve_extension(session, principal, value, tenant_id, "exten") for value in raw]
        keys: list[Key] = list(dict.fromkeys(resolved))  # "410,SIP/410": one extension, once
        tenants = {tenant_pk for tenant_pk, _ in keys}
        zones: dict[int | None, str] = {
            pk: zone
            for pk, zone in session.execute(select(Tenant.pk, Tenant.time_zone).where(Tenant.pk.in_(tenants)))
        }
        poll = Poll([extension for _, extension in keys], keys, zones)
        if not snapshot:
            return poll, None
        # Read first: an event numbered after it is sent again rather than missed.
        high = high_water_of(
            session.scalar(select(ChangeCounter.value).where(ChangeCounter.channel == EVENTS_CHANNEL))
        )
        return poll, Opening(high, Subscriptions._live_calls(session, keys))

    @staticmethod
    def _live_calls(session: Session, keys: Sequence[Key]) -> dict[Key, list[CallSeen]]:
        found: dict[Key, list[CallSeen]] = {}
        for tenant_pk, extension in keys:
            live = session.scalars(
                select(Call)
                .where(Call.tenant_pk == tenant_pk, Call.extension == extension, Call.ended_at.is_(None))
                .order_by(Call.pk)
            )
            found[(tenant_pk, extension)] = [
                CallSeen(call_facts(call), call.state, call.unique_id) for call in live
            ]
        return found

    async def poll(
        self,
        principal: Principal,
        raw: Sequence[str],
        tenant_id: str | None,
        after: int,
        wait: float,
        gone: asyncio.Future[None] | None = None,
    ) -> PollResult:
        """The extensions' calls (their changes after `after`, or their live calls when it is 0),
        waiting up to `wait` seconds (at most max_timeout) for the first; a wait ends at once when
        `gone` (the client went away) resolves."""
        poll, opening = await self._db.read(partial(self._open, principal, raw, tenant_id, after == 0))
        if opening is not None:  # lastSequenceNumber=0: the live calls, or what comes after them
            if wait <= 0 or any(opening.calls.values()):
                calls, seq = self._by_name(poll, opening.calls), opening.high
            else:
                calls, seq = await self._wait(poll, opening.high, wait, gone)
        else:
            calls, seq = await self._wait(poll, after, wait, gone)
        zones = {
            name: poll.time_zones.get(key[0], "")
            for name, key in zip(poll.extensions, poll.keys, strict=True)
        }
        return PollResult(calls, seq, zones)

    async def _wait(
        self, poll: Poll, after: int, wait: float, gone: asyncio.Future[None] | None
    ) -> tuple[dict[str, list[CallSeen]], int]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(max(wait, 0.0), self.max_timeout)
        first = True
        while True:
            # Watch before reading: an event numbered after the read still wakes this poll.
            with self._hub.watching(poll.keys) as woken:
                high = await self._hub.high_water()
                if first:
                    first = False
                    if after > high:  # ahead of this log (a restored database): go on from its end
                        return self._by_name(poll, {}), high
                found = await self._hub.events_after(poll.keys, after, high)
                if any(found.values()):
                    entries, seq = self._events(poll, found, high)
                    if any(entries.values()):
                        return entries, seq
                    after = seq  # events that changed no state: skipped, and not read again
                remaining = deadline - loop.time()
                if remaining <= 0 or self._hub.closed or (gone is not None and gone.done()):
                    return self._by_name(poll, {}), high
                # Woken by an event on one of these extensions (it may not be a call event:
                # read again), by the deadline (read again, then answer), or by the client leaving.
                await asyncio.wait(
                    [woken] if gone is None else [woken, gone],
                    timeout=remaining,
                    return_when=asyncio.FIRST_COMPLETED,
                )

    @staticmethod
    def _by_name(poll: Poll, found: Mapping[Key, list[CallSeen]]) -> dict[str, list[CallSeen]]:
        return {name: found.get(key, []) for name, key in zip(poll.extensions, poll.keys, strict=True)}

    def _events(
        self, poll: Poll, found: Mapping[Key, list[dict[str, Any]]], high: int
    ) -> tuple[dict[str, list[CallSeen]], int]:
        """At most MAX_EVENTS, oldest first; `seq` is the high-water mark unless some were left
        for the next poll, then the last one returned."""
        # An extension whose read hit the limit may have more events after its last one: none
        # later than that is returned, so the next poll (from `seq`) finds them all.
        limit = min(
            (int(rows[-1]["seq"]) for rows in found.values() if len(rows) == MAX_EVENTS), default=high
        )
        merged = sorted(
            (
                (int(row["seq"]), key, row)
                for key, rows in found.items()
                for row in rows
                if row["seq"] <= limit
            ),
            key=lambda item: item[0],
        )
        taken = merged[:MAX_EVENTS]
        seq = taken[-1][0] if len(merged) > MAX_EVENTS else limit
        grouped: dict[Key, list[CallSeen]] = defaultdict(list)
        for _, key, row in taken:
            data = row["data"]
            if data.get("state") != data.get("previousState"):
                grouped[key].append(CallSeen(data, data.get("state", ""), row["unique_id"]))
        return self._by_name(poll, grouped), seq
