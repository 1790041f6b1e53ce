"""A keyset page of an ORM select: the rows after a cursor by a unique sort column, and the total."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import QueryableAttribute, Session

T = TypeVar("T")


def keyset_page(
    session: Session,
    stmt: Select[T],
    sort: QueryableAttribute[Any],
    after: object | None,
    limit: int,
    params: Mapping[str, Any] | None = None,
) -> tuple[list[T], int]:
    """Up to limit + 1 rows after `after` by `sort` (the extra one says there are more), and how
    many rows the select has. `sort` must be unique within the select, or a page can skip rows."""
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()), params) or 0
    if after is not None:
        stmt = stmt.where(sort > after)
    rows = list(session.scalars(stmt.order_by(None).order_by(sort).limit(limit + 1), params))
    return rows, total
