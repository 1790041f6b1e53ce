"""The Database: a sync engine for writes (the unit of work) and a raw reader for hot reads."""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread
import orjson
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine.url import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from switchboard.db.fastread import FastReader, refuse_nul
from switchboard.db.fastwrite import FastWriter
from switchboard.db.write_lock import BUSY_SECONDS, WRITERS, take_write_lock

T = TypeVar("T")


def sync_url(url: str) -> str:
    """SQLAlchemy URL for the sync engine: psycopg 3 for PostgreSQL."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+asyncpg"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _sqlite_on_connect(dbapi_connection: sqlite3.Connection, _: Any) -> None:
    # Autocommit at the driver level; SQLAlchemy's "begin" hook below issues BEGIN IMMEDIATE so a
    # writer takes the lock up front instead of failing later on a read-to-write upgrade.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(BUSY_SECONDS * 1000)}")
    cursor.close()


def _json_text(value: Any) -> str:
    # orjson: several times faster than the json module, and the same JSON the hot reads decode.
    return orjson.dumps(value).decode()


def _refuse_nul(_conn: Any, _cursor: Any, _sql: str, parameters: Any, _ctx: Any, _many: bool) -> None:
    # One row (a tuple or a dict of values) or a list of rows.
    for row in parameters if isinstance(parameters, list) else (parameters,):
        refuse_nul(
            row.values() if isinstance(row, dict) else row if isinstance(row, tuple | list) else (row,)
        )


def make_engine(url: str) -> Engine:
    url = sync_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False}, json_serializer=_json_text)
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "before_cursor_execute", _refuse_nul)

        @event.listens_for(engine, "begin")
        def _begin_immediate(conn: Any) -> None:
            try:
                take_write_lock(conn.connection.driver_connection)
            except sqlite3.OperationalError as exc:  # wrapped, as the engine's other errors are
                raise OperationalError("BEGIN IMMEDIATE", None, exc) from exc

        return engine
    engine = create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True, json_serializer=_json_text)
    event.listen(engine, "before_cursor_execute", _refuse_nul)
    return engine


def _sqlite_read_only(dbapi_connection: sqlite3.Connection, _: Any) -> None:
    dbapi_connection.execute("PRAGMA query_only=ON")  # a write here is a bug: it fails, loudly


def make_read_engine(url: str, engine: Engine) -> Engine:
    """The engine of read-only units of work. SQLite: connections of their own whose transactions
    begin DEFERRED (a WAL snapshot at the first read), so they never wait for the write lock nor
    hold writers up. PostgreSQL: the write engine itself (its readers never wait for writers)."""
    if engine.dialect.name != "sqlite":
        return engine
    reads = create_engine(
        sync_url(url), connect_args={"check_same_thread": False}, json_serializer=_json_text
    )
    event.listen(reads, "connect", _sqlite_on_connect)
    event.listen(reads, "connect", _sqlite_read_only)

    @event.listens_for(reads, "begin")
    def _begin_deferred(conn: Any) -> None:
        conn.connection.driver_connection.execute("BEGIN")

    return reads


def _remove_copy(copy: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        copy.with_name(copy.name + suffix).unlink(missing_ok=True)


def _remove_orphans(directory: Path, prefix: str) -> None:
    """Dry-run copies left by a process that died during its dry run (named with its pid)."""
    for leftover in directory.glob(f"{prefix}*"):
        pid = leftover.name.removeprefix(prefix).split("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            leftover.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


class Database:
    """One per process: the write engine, the session factory, and the hot-path reader."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.read_engine = make_read_engine(url, self.engine)
        self._read_sessions = sessionmaker(self.read_engine, expire_on_commit=False)
        self.reader = FastReader(url)
        self.writer = FastWriter(self.reader)
        # Set by the app to its ChangeFeed.changed: local subscribers hear of a commit at once.
        self.on_commit: Callable[[set[str]], None] | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """The unit of work: commit when the block ends, roll back on any exception.

        Channels bumped in it (switchboard.signals) are announced in this process after commit.
        """
        with self.sessions() as session:
            with session.begin():
                yield session
            changed = session.info.pop("switchboard.changed_channels", None)
        if changed and self.on_commit is not None:
            self.on_commit(changed)

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only unit of work: one consistent snapshot, never waiting for a writer (on
        SQLite, `transaction` takes the file's one write lock up front, even to read). Ends in a
        rollback; on SQLite a write in it fails."""
        with self._read_sessions() as session:
            try:
                yield session
            finally:
                session.rollback()

    async def read(self, work: Callable[[Session], T]) -> T:
        """`work` in a read-only unit of work, from the event loop. SQLite: right here, in the
        loop's thread (its reads never wait for a writer, and a few indexed reads cost less than
        a thread hop, which waits its turn in a busy loop twice); PostgreSQL: in a worker thread
        (the sync driver blocks on the network)."""
        if self.is_sqlite:
            with self.reading() as session:
                return work(session)
        return await anyio.to_thread.run_sync(self._read_in_thread, work)

    def _read_in_thread(self, work: Callable[[Session], T]) -> T:
        with self.reading() as session:
            return work(session)

    @contextmanager
    def dry_run_sessions(self) -> Iterator[sessionmaker[Session]]:
        """Sessions for a long dry run (writes rolled back at the end). SQLite has one write lock
        for the whole file, which a dry run would hold from its first write to its rollback, every
        other writer waiting on it: there the sessions work on a private copy of the database,
        taken in one read transaction (which WAL lets writers run beside) and deleted after.
        PostgreSQL locks rows, not the database: there they are the database's own."""
        path = self.reader.sqlite_path if self.is_sqlite else ":memory:"
        if path == ":memory:" or path.startswith("file:"):
            yield self.sessions
            return
        source = Path(path)
        prefix = f"{source.name}.dry-run-"
        _remove_orphans(source.parent, prefix)
        copy = source.with_name(f"{prefix}{os.getpid()}-{uuid.uuid4().hex}")
        try:
            with closing(sqlite3.connect(source)) as reading, closing(sqlite3.connect(copy)) as target:
                reading.backup(target)  # every page in one step: one consistent snapshot
            engine = make_engine(f"sqlite:///{copy}")
            try:
                yield sessionmaker(engine, expire_on_commit=False)
            finally:
                engine.dispose()
        finally:
            _remove_copy(copy)

    def give_way(self) -> None:
        """Between two transactions of a long job: on SQLite, let this process's writers that are
        waiting for the write lock have it first (up to a second), rather than take it straight back."""
        if self.is_sqlite:
            WRITERS.give_way()

    def announce(self, *channels: str) -> None:
        """Tell this process's subscribers of changes committed outside `transaction` (FastWriter)."""
        if self.on_commit is not None:
            self.on_commit(set(channels))

    def pool_usage(self) -> tuple[int, int]:
        """(connections the process's pools keep, connections in use now): the write engine's
        pool (its overflow counted while open) and the hot-path reader's."""
        size, in_use = self.reader.pool_usage()
        pool = self.engine.pool
        if isinstance(pool, QueuePool):
            size += pool.size() + max(pool.overflow(), 0)
            in_use += pool.checkedout()
        return size, in_use

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    async def open(self) -> None:
        await self.reader.open()
        await self.writer.open()

    async def close(self) -> None:
        await self.writer.close()
        await self.reader.close()
        self.engine.dispose()
        self.read_engine.dispose()
