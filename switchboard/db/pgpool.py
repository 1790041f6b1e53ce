"""A lean pool of asyncpg connections for the hot paths.

asyncpg.Pool's acquire/release costs ~60 µs of CPU per request on these machines (holders,
timeouts, a reset query); here taking an idle connection is a list pop. Connections are opened
lazily (the service starts while PostgreSQL is down) up to `max_size`; a connection given back
after anything but a clean use (a cancelled or broken query, an open transaction) is closed
rather than reused, and a waiter is handed a fresh one.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import asyncpg


class LeanPool:
    def __init__(self, dsn: str, max_size: int = 10) -> None:
        self._dsn = dsn
        self._max_size = max_size
        self._idle: list[Any] = []
        self._size = 0  # connections open or being opened
        self._waiters: collections.deque[asyncio.Future[Any]] = collections.deque()
        self._closed = False

    @property
    def max_size(self) -> int:
        return self._max_size

    @property
    def in_use(self) -> int:
        """Connections handed out now (open ones that are not idle)."""
        return self._size - len(self._idle)

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[Any]:
        conn = await self._take()
        clean = False
        try:
            yield conn
            clean = True
        except asyncpg.PostgresError:
            clean = True  # the server refused a statement; the connection itself is fine
            raise
        finally:
            self._give(conn, clean)

    async def _take(self) -> Any:
        if self._closed:
            raise RuntimeError("the pool is closed")
        while self._idle:
            conn = self._idle.pop()
            if not conn.is_closed():
                return conn
            self._size -= 1
        if self._size < self._max_size:
            return await self._open()
        waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # handed a connection as we were cancelled
                self._give(waiter.result(), True)
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            raise

    async def _open(self) -> Any:
        self._size += 1
        try:
            return await asyncpg.connect(self._dsn)
        except BaseException:
            self._size -= 1
            raise

    def _give(self, conn: Any, clean: bool) -> None:
        reusable = clean and not self._closed and not conn.is_closed() and not conn.is_in_transaction()
        if not reusable:
            self._size -= 1
            conn.terminate()
            self._replace_for_waiter()
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        self._idle.append(conn)

    def _replace_for_waiter(self) -> None:
        """A connection was closed while someone waits: open one for them."""
        if not self._waiters or self._closed:
            return
        waiter = self._waiters.popleft()

        async def open_for_waiter() -> None:
            try:
                conn = await self._open()
            except Exception as exc:
                if not waiter.done():
                    waiter.set_exception(exc)
                return
            if waiter.done():
                self._give(conn, True)
            else:
                waiter.set_result(conn)

        task = asyncio.get_running_loop().create_task(open_for_waiter())
        task.add_done_callback(lambda done: done.exception() if not done.cancelled() else None)

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 5)
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(RuntimeError("the pool is closed"))
