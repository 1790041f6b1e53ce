"""Which exceptions mean "the database is away or full" (retry later), and the 503 that says so."""

from __future__ import annotations

import sqlite3

import asyncpg
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from switchboard.errors import ServiceUnavailable


def is_database_unavailable(exc: BaseException) -> bool:
    """Connection-level database failures (not bad SQL): the caller should retry later."""
    # sqlite3.OperationalError: the raw hot-path connections' locked / full / I/O errors, which the
    # engine's connections raise wrapped in SQLAlchemy's OperationalError.
    unavailable = (
        OperationalError | InterfaceError | ConnectionError | TimeoutError | sqlite3.OperationalError
    )
    if isinstance(exc, unavailable):
        return True
    return type(exc).__module__.startswith("asyncpg") and "Connection" in type(exc).__name__


def is_storage_full(exc: BaseException) -> bool:
    """The database refused a write for want of space (SQLite's SQLITE_FULL, PostgreSQL's 53100)."""
    orig = getattr(exc, "orig", None) or exc
    return "database or disk is full" in str(orig) or type(orig).__name__ in ("DiskFull", "DiskFullError")


def database_unavailable(exc: BaseException) -> ServiceUnavailable:
    if is_storage_full(exc):
        return ServiceUnavailable(
            "The database is out of storage space: nothing was written. Writes will work again once "
            "the operator frees space; reads are unaffected."
        )
    return ServiceUnavailable("The database is unavailable; try again shortly.")


def database_error_bases() -> tuple[type[Exception], ...]:
    """The classes every error is_database_unavailable accepts derives from."""
    return (DBAPIError, OSError, sqlite3.Error, asyncpg.PostgresError, asyncpg.InterfaceError)
