"""Long IN lists, split so that one statement stays inside both engines' bind-parameter limits."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator
from typing import TypeVar

from sqlalchemy import ARRAY, Select, String, any_, bindparam, func, literal_column, select
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
    """`column IN values` with the values as one parameter, so that the statement is the same
    text whatever the count (no driver parsing, nor SQLAlchemy naming, a thousand placeholders):
    `= ANY(array)` on PostgreSQL, `IN (SELECT value FROM json_each(array))` on SQLite (both still
    look each value up in the column's index)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(String)))
    listed: Select[tuple[str]] = select(literal_column("value")).select_from(
        func.json_each(bindparam(None, json.dumps(values)))
    )
    return column.in_(listed.scalar_subquery())
