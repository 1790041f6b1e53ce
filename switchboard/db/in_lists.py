"""Long IN lists, split so that one statement stays inside both engines' bind-parameter limits."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import TypeVar

from sqlalchemy import ARRAY, String, any_, bindparam
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
