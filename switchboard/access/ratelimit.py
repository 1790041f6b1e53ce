"""Rate limits over fixed one-minute windows, shared by every worker through the database.

Each process counts locally and, every fraction of a second, adds its counts to the shared rows
(`rate_counters`) and reads back the totals; a bucket is over its limit when the shared total plus
the counts not yet flushed reach it. With W workers, the overshoot is bounded by what they can
serve in one sync interval.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import defaultdict

from sqlalchemy import bindparam, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from switchboard.db.engine import Database
from switchboard.errors import TooManyRequests
from switchboard.signals.models import RateCounter

WINDOW = 60


def _share_after(limit: int) -> int:
    return 1 if limit <= 100 else limit // 20


def _window(now: float) -> int:
    return int(now) - int(now) % WINDOW


class RateLimiter:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._totals = db.reader.compiled(
            "rate_counters.window",
            lambda: select(RateCounter.bucket, RateCounter.window, RateCounter.count).where(
                RateCounter.window >= bindparam("since")
            ),
        )
        self._window = _window(time.time())
        self._unflushed: dict[str, int] = defaultdict(int)
        self._shared: dict[str, int] = {}
        self._previous: dict[str, int] = {}  # the window before this one, for recent()
        self._limits: dict[str, int] = {}
        # Counts of the window that just ended, not flushed when it ended: the next flush writes
        # them to that window's rows (else they were lost, and a burst got a fresh round).
        self._leftover: tuple[int, dict[str, int]] | None = None
        # flush() runs in a thread: its roll and its move of counts from unflushed to shared must
        # not interleave with a count on the event loop (a count in between was short by them).
        self._lock = threading.RLock()
        self.urgent = asyncio.Event()

    def _roll(self) -> float:
        now = time.time()
        window = _window(now)
        with self._lock:
            if window != self._window:
                if window == self._window + WINDOW:
                    ended = self._shared.keys() | self._unflushed.keys()
                    self._previous = {b: self._shared.get(b, 0) + self._unflushed.get(b, 0) for b in ended}
                    unshared = {b: n for b, n in self._unflushed.items() if n}
                    self._leftover = (self._window, unshared) if unshared else None
                else:
                    self._previous, self._leftover = {}, None
                self._window, self._unflushed, self._shared = window, defaultdict(int), {}
        return now

    def count(self, bucket: str) -> int:
        self._roll()
        with self._lock:
            return self._shared.get(bucket, 0) + self._unflushed.get(bucket, 0)

    def recent(self, bucket: str) -> int:
        """Counts of this window and the one before: a total that does not drop to zero when the
        minute turns (for slowing down failures, where a reset would be a free round of guesses)."""
        return self.count(bucket) + self._previous.get(bucket, 0)

    def retry_after(self) -> int:
        return self._window + WINDOW - int(self._roll()) + 1

    def check(self, bucket: str, limit: int, what: str) -> None:
        """429 when the bucket is already at its limit (nothing is counted)."""
        if self.count(bucket) >= limit:
            raise TooManyRequests(f"Too many {what}; try again later.", self.retry_after())

    def hit(self, bucket: str, limit: int, what: str) -> None:
        """Count one, then 429 if that went over the limit."""
        self._roll()
        self._unflushed[bucket] += 1
        self._limits[bucket] = limit
        if _share_after(limit) == 1:
            # Small, security-relevant limits (failed authentications): sync now, not at the next tick.
            self.urgent.set()
        if self.count(bucket) > limit:
            raise TooManyRequests(f"Too many {what}; try again later.", self.retry_after())

    def reserve(self, buckets: dict[str, int], what: str) -> int:
        """Count one attempt in every bucket before the work it guards (a password check), or 429
        with nothing counted when any bucket is at its limit (`buckets`: name -> limit). Check and
        count happen with no await between them, so concurrent attempts cannot all pass a check
        made before any of them was counted. The limit holds over this window and the one before
        (`recent`): no fresh round of guesses when the minute turns. Returns the window, for
        `release`."""
        self._roll()
        full = [bucket for bucket, limit in buckets.items() if self.recent(bucket) >= limit]
        if full:
            # Free again once the window that holds the failures has passed out of `recent`.
            later = any(self.count(bucket) >= buckets[bucket] for bucket in full)
            retry = self.retry_after() + (WINDOW if later else 0)
            raise TooManyRequests(f"Too many {what}; try again later.", retry)
        for bucket, limit in buckets.items():
            self._unflushed[bucket] += 1
            self._limits[bucket] = limit
        self.urgent.set()  # reservations are shared with the other workers at once, not at a tick
        return self._window

    def release(self, buckets: dict[str, int], window: int) -> None:
        """Give back what `reserve` counted (the attempt succeeded). One made in a window that has
        since ended stays counted there (shared rows of a past window are not rewritten): a right
        password sent as the minute turned costs one failure, for a minute at most."""
        self._roll()
        if window != self._window:
            return
        for bucket in buckets:
            self._unflushed[bucket] -= 1
        self.urgent.set()

    def flush(self) -> None:
        """Add local counts to the shared rows (in a thread; a write only when there is something)."""
        self._roll()
        with self._lock:
            window = self._window
            leftover, self._leftover = self._leftover, None
            # A bucket far from its limit need not be shared yet: wait until it has counted 5% of
            # the limit here (small limits, such as failed authentications, are shared on every
            # count). Thousands of active keys then cost a handful of writes, and each worker
            # overshoots by at most 5% of a limit before the others know.
            pending = {
                bucket: n
                for bucket, n in self._unflushed.items()
                # A negative count is a released reservation that was shared already: shared too.
                if n < 0 or (n and n >= _share_after(self._limits.get(bucket, 0)))
            }
        writes = [(window, pending)] + ([leftover] if leftover else [])
        if not any(counts for _, counts in writes):
            return
        with self._db.transaction() as session:
            dialect = session.get_bind().dialect.name
            insert = pg_insert if dialect == "postgresql" else sqlite_insert
            for row_window, counts in writes:
                for bucket, n in sorted(counts.items()):
                    stmt = insert(RateCounter).values(bucket=bucket, window=row_window, count=n)
                    session.execute(
                        stmt.on_conflict_do_update(
                            index_elements=["bucket", "window"], set_={"count": RateCounter.count + n}
                        )
                    )
        with self._lock:
            if window == self._window:
                for bucket, n in pending.items():
                    self._unflushed[bucket] -= n
                    self._shared[bucket] = self._shared.get(bucket, 0) + n

    async def refresh(self) -> None:
        """Read every worker's totals for the current window (a read, on the event loop)."""
        window = self._window
        rows = await self._db.reader.fetch_all(self._totals, {"since": window - WINDOW})
        with self._lock:
            if window == self._window:
                self._shared = {row["bucket"]: int(row["count"]) for row in rows if row["window"] == window}
                # The ended window only grows; what this worker counted in it may not be written
                # yet (a leftover the next flush writes): the larger of the two.
                shared = {row["bucket"]: int(row["count"]) for row in rows if row["window"] != window}
                self._previous = {
                    b: max(shared.get(b, 0), self._previous.get(b, 0))
                    for b in shared.keys() | self._previous.keys()
                }

    def purge(self) -> None:
        with self._db.transaction() as session:
            session.execute(delete(RateCounter).where(RateCounter.window < self._window - WINDOW))
