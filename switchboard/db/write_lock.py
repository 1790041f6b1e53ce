"""SQLite's write lock (one for the whole file): taken by trying again every few milliseconds, and
the writers waiting for it counted, so that a long job writing batch after batch lets them in."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

BUSY_SECONDS = 10.0  # how long a writer waits for SQLite's write lock (then 503)
BUSY_POLL_SECONDS = 0.005  # the longest pause between two tries


class WriteLockQueue:
    """How many of this process's writers are waiting for SQLite's write lock, so that a long job
    writing batch after batch lets them in between its batches (SQLite serves one process)."""

    def __init__(self) -> None:
        self._waiting = 0
        self._lock = threading.Lock()

    @contextmanager
    def waiting(self) -> Iterator[None]:
        with self._lock:
            self._waiting += 1
        try:
            yield
        finally:
            with self._lock:
                self._waiting -= 1

    def give_way(self, limit: float = 1.0) -> None:
        """Wait (up to `limit` seconds) until no writer waits for the lock."""
        deadline = time.monotonic() + limit
        while self._waiting and time.monotonic() < deadline:
            time.sleep(0.001)


WRITERS = WriteLockQueue()


def pauses() -> Iterator[float]:
    """The waits between two tries for the write lock: from half a millisecond, doubling, up to
    BUSY_POLL_SECONDS (the sync and the async writer wait alike)."""
    pause = 0.0005
    while True:
        yield pause
        pause = min(pause * 2, BUSY_POLL_SECONDS)


def began(dbapi_connection: sqlite3.Connection, deadline: float) -> bool:
    """BEGIN IMMEDIATE if the write lock is free; False if another writer holds it."""
    try:
        dbapi_connection.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc) or time.monotonic() > deadline:
            raise
        return False
    return True


def take_write_lock(dbapi_connection: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE, tried again every few milliseconds while another writer holds the lock.
    Not SQLite's busy handler: its pauses grow to 100 ms, and miss the moment a writer that takes
    the lock again at once (a bulk load, batch after batch) lets it go."""
    dbapi_connection.execute("PRAGMA busy_timeout=0")
    try:
        deadline = time.monotonic() + BUSY_SECONDS
        if began(dbapi_connection, deadline):
            return
        with WRITERS.waiting():
            for pause in pauses():
                time.sleep(pause)
                if began(dbapi_connection, deadline):
                    return
    finally:
        dbapi_connection.execute(f"PRAGMA busy_timeout={int(BUSY_SECONDS * 1000)}")
