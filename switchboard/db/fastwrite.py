"""Hot writes without the ORM or a thread hop: a few Core statements, one short transaction.

SQLite: a connection of its own in the loop's thread. Its statements are a handful of indexed
writes; when another writer (a unit of work in a worker thread, the audit flush) holds the
lock, it does not block the loop in SQLite's busy handler but yields and retries, so other
requests go on meanwhile. PostgreSQL: the reader's asyncpg pool. Statements are compiled once
(switchboard.db.fastread.CompiledQuery).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

from switchboard.db.fastread import CompiledQuery, FastReader, Row
from switchboard.db.write_lock import BUSY_SECONDS, WRITERS, began, pauses

# (statement key, builder of the Core statement, its parameters)
Step = tuple[str, Callable[[], Any], Mapping[str, Any]]


class FastWriter:
    def __init__(self, reader: FastReader) -> None:
        self._reader = reader
        self._sqlite: sqlite3.Connection | None = None

    def compiled(self, key: object, build: Any) -> CompiledQuery:
        return self._reader.compiled(("write", key), build)

    async def open(self) -> None:
        if self._reader.is_sqlite:
            conn = sqlite3.connect(self._reader.sqlite_path, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA synchronous=NORMAL")  # as the engine's: WAL, no fsync per commit
            conn.execute("PRAGMA busy_timeout=0")  # never block the loop: see _begin
            self._sqlite = conn

    async def close(self) -> None:
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None

    @staticmethod
    async def _begin(conn: sqlite3.Connection) -> None:
        """BEGIN IMMEDIATE, waiting for the write lock without holding up the event loop."""
        deadline = time.monotonic() + BUSY_SECONDS
        if began(conn, deadline):
            return
        with WRITERS.waiting():
            for pause in pauses():
                await asyncio.sleep(pause)
                if began(conn, deadline):
                    return

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[RawTransaction]:
        """A short transaction of several statements, each seeing the ones before (for work
        that must read under a lock before it writes, which one CTE statement cannot do)."""
        if self._sqlite is not None:
            conn = self._sqlite
            await self._begin(conn)
            try:
                yield RawTransaction(self, sqlite=conn)
                conn.execute("COMMIT")  # inside: a failed COMMIT must not leave the connection in it
            except BaseException:
                _rollback(conn)
                raise
            return
        async with self._reader.pool.acquire() as pg, pg.transaction():
            yield RawTransaction(self, pg=pg)

    async def run(self, steps: Sequence[Step]) -> None:
        """The steps, all or none. Bind names must be distinct across the steps.

        SQLite: one short transaction. PostgreSQL: one statement, the earlier steps as
        data-modifying CTEs of the last, so the whole change is a single round trip (a statement
        is atomic by itself) instead of BEGIN, each statement, COMMIT.
        """
        if self._sqlite is not None:
            conn = self._sqlite
            compiled = [(self.compiled(key, build), params) for key, build, params in steps]
            await self._begin(conn)
            try:
                for query, params in compiled:
                    conn.execute(query.sql, query.args(params))
                conn.execute("COMMIT")
            except BaseException:
                _rollback(conn)
                raise
            return
        keys = tuple(key for key, _, _ in steps)
        *before, (_, build_last, _) = steps

        def combined() -> Any:
            return build_last().add_cte(*(build().cte(f"step{n}") for n, (_, build, _) in enumerate(before)))

        query = self.compiled(keys, combined)
        params = {name: value for _, _, step_params in steps for name, value in step_params.items()}
        async with self._reader.pool.acquire() as conn:
            await conn.execute(query.sql, *query.args(params))


def _rollback(conn: sqlite3.Connection) -> None:
    # SQLite ends the transaction itself on some errors (SQLITE_FULL, I/O errors): a ROLLBACK then
    # would fail with "no transaction is active" and hide the error that matters.
    if conn.in_transaction:
        conn.execute("ROLLBACK")


class RawTransaction:
    """Statements inside FastWriter.transaction; each returns its rows (RETURNING, SELECT)."""

    def __init__(self, writer: FastWriter, sqlite: sqlite3.Connection | None = None, pg: Any = None) -> None:
        self._writer = writer
        self._sqlite = sqlite
        self._pg = pg

    async def execute(self, key: object, build: Callable[[], Any], params: Mapping[str, Any]) -> list[Row]:
        query = self._writer.compiled(key, build)
        if self._sqlite is not None:
            records = self._sqlite.execute(query.sql, query.args(params)).fetchall()
        else:
            records = await self._pg.fetch(query.sql, *query.args(params))
        return [query.shape(record) for record in records] if query.columns else []
