"""Hot reads without the ORM: Core statements compiled once, run on the raw driver in the event loop.

SQLite is read through one sqlite3 connection in the loop's own thread (an indexed read costs a
few microseconds, cheaper than a thread hop); PostgreSQL through an asyncpg pool.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeAlias

import orjson
from sqlalchemy import JSON, Boolean, DateTime, Select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine.url import make_url

from switchboard.db.base import UTCDateTime, as_utc
from switchboard.db.pgpool import LeanPool
from switchboard.errors import BadRequest

Row = dict[str, Any]
AnySelect: TypeAlias = "Select[*tuple[Any, ...]]"


def _load_json(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def _to_bool(value: Any) -> Any:
    return None if value is None else bool(value)


def _bind_converter(type_: Any, dialect: Any) -> Callable[[Any], Any] | None:
    """What the raw driver needs for a bound value, stored as the ORM stores it."""
    if isinstance(type_, JSON):
        return lambda value: None if value is None else orjson.dumps(value).decode()
    if isinstance(type_, UTCDateTime | DateTime):
        return _sqlite_timestamp if dialect.name == "sqlite" else as_utc
    return None


def _sqlite_timestamp(value: Any) -> str | None:
    """SQLAlchemy's SQLite storage format: naive UTC, a space, microseconds."""
    moment = as_utc(value)
    return None if moment is None else moment.replace(tzinfo=None).isoformat(" ", "microseconds")


def refuse_nul(values: Iterable[Any]) -> None:
    """PostgreSQL cannot store text holding a NUL character, SQLite can: both refuse it, as the
    invalid input it is (400), before a driver sees it."""
    for value in values:
        if type(value) is str and "\x00" in value:
            raise BadRequest("Text may not contain NUL (U+0000) characters.")


class CompiledQuery:
    """A Core statement compiled for one dialect: SQL text, bind order and converters both ways."""

    def __init__(self, stmt: Any, dialect: Any) -> None:
        compiled = stmt.compile(dialect=dialect)
        self.sql = str(compiled)
        self.bind_names: tuple[str, ...] = tuple(compiled.positiontup or ())
        self.defaults = {str(name): bp.value for name, bp in compiled.binds.items()}
        self.bind_converters = [
            _bind_converter(compiled.binds[name].type, dialect) for name in self.bind_names
        ]
        self.converts = any(conv is not None for conv in self.bind_converters)
        selected = list(getattr(stmt, "selected_columns", ()))  # none for INSERT / UPDATE
        self.columns: list[str] = [str(col.key) for col in selected]
        self.converters: list[Callable[[Any], Any] | None] = []
        for col in selected:
            if isinstance(col.type, JSON):
                self.converters.append(_load_json)
            elif isinstance(col.type, Boolean):
                self.converters.append(_to_bool)
            elif isinstance(col.type, UTCDateTime | DateTime):
                self.converters.append(as_utc)
            else:
                self.converters.append(None)

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        values = [params[name] if name in params else self.defaults[name] for name in self.bind_names]
        refuse_nul(values)
        if not self.converts:  # most hot reads bind plain ints and strings
            return values
        return [
            conv(v) if conv is not None else v for v, conv in zip(values, self.bind_converters, strict=True)
        ]

    def shape(self, record: Sequence[Any]) -> Row:
        return {
            name: (conv(value) if conv is not None and value is not None else value)
            for name, value, conv in zip(self.columns, record, self.converters, strict=True)
        }


class FastReader:
    """Runs precompiled selects on the raw driver; one instance per process."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        self._url = parsed
        self._dialect: Any = (
            sqlite.dialect() if self.is_sqlite else postgresql.asyncpg.dialect()  # type: ignore[no-untyped-call]
        )
        self._sqlite: sqlite3.Connection | None = None
        self._pool: Any = None
        self._cache: dict[object, CompiledQuery] = {}

    def compiled(self, key: object, build: Callable[[], AnySelect]) -> CompiledQuery:
        """The compiled form of a statement, built once per key and process."""
        query = self._cache.get(key)
        if query is None:
            query = self._cache[key] = CompiledQuery(build(), self._dialect)
        return query

    def uncached(self, build: Callable[[], AnySelect]) -> CompiledQuery:
        """A statement compiled for this one request: for filters whose combinations are too many
        to keep a compiled form of each (the cache would grow with what clients send)."""
        return CompiledQuery(build(), self._dialect)

    @property
    def sqlite_path(self) -> str:
        return self._url.database or ":memory:"

    @property
    def pool(self) -> Any:
        """The asyncpg pool (PostgreSQL)."""
        if self._pool is None:
            raise RuntimeError("FastReader.open() was not awaited")
        return self._pool

    async def open(self) -> None:
        if self.is_sqlite:
            conn = sqlite3.connect(self.sqlite_path, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA query_only=ON")
            conn.execute("PRAGMA busy_timeout=10000")
            self._sqlite = conn
        else:
            dsn = self._url.set(drivername="postgresql").render_as_string(hide_password=False)
            # Opened lazily: the service starts even while the database is down; /readyz reports it.
            self._pool = LeanPool(dsn, max_size=10)

    def pool_usage(self) -> tuple[int, int]:
        """(connections it may hold, connections in use now)."""
        if self._pool is not None:
            return self._pool.max_size, self._pool.in_use
        return (1, 0) if self._sqlite is not None else (0, 0)  # SQLite: one, used only in a call

    async def close(self) -> None:
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def fetch_all(self, query: CompiledQuery, params: Mapping[str, Any]) -> list[Row]:
        args = query.args(params)
        if self._sqlite is not None:
            records: Sequence[Sequence[Any]] = self._sqlite.execute(query.sql, args).fetchall()
        else:
            if self._pool is None:
                raise RuntimeError("FastReader.open() was not awaited")
            async with self._pool.acquire() as conn:
                records = await conn.fetch(query.sql, *args)
        return [query.shape(record) for record in records]

    async def fetch_one(self, query: CompiledQuery, params: Mapping[str, Any]) -> Row | None:
        rows = await self.fetch_all(query, params)
        return rows[0] if rows else None

    async def dedicated_connection(self) -> Any:
        """A PostgreSQL connection of its own (for LISTEN), outside the pool."""
        import asyncpg

        dsn = self._url.set(drivername="postgresql").render_as_string(hide_password=False)
        return await asyncpg.connect(dsn)

    async def ping(self) -> None:
        if self._sqlite is not None:
            self._sqlite.execute("SELECT 1").fetchone()
        elif self._pool is not None:
            async with self._pool.acquire() as conn:
                await conn.fetchval("SELECT 1")
