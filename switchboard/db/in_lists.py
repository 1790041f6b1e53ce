"""Long IN lists, split so that one statement stays inside both engines' bind-parameter limits."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import TypeVar

from sqlalchemy import ARRAY, String, any_, bindparam, text
from sqlalchemy.orm import QueryableAttribute, Session
from sqlalchemy.sql.elements import ColumnElement

T = TypeVar("T")

IN_CHUNK = 1000  # values per statement


def chunks(values: Collection[T]) -> Iterator[list[T]]:
    listed = list(values)
    for start in range(0, len(listed), IN_CHUNK):
        yield listed[start : start + IN_CHUNK]


def one_of(
    session: Session, column: ColumnElement[str] | QueryableAttribute[str], values: list[str]
) -> ColumnElement[bool]:
    """`column IN values`: an IN list on SQLite; `= ANY(array)` on PostgreSQL, one parameter, so
    the statement is the same text whatever the count (no driver parsing a thousand placeholders)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(String)))
    return column.in_(values)


def plan_for_each_call(session: Session) -> None:
    """PostgreSQL: plan each statement of this transaction for its own parameters. A bulk load
    grows tables from nearly empty, and the generic plan the server caches for a prepared
    statement after a few runs (a sequential scan, right for an empty table) would otherwise be
    kept while the table grows, making every batch's lookups slower than the last."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
