"""Base for every API schema: camelCase on the wire, unknown fields rejected; the page of a list."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

T = TypeVar("T")

# A row id from a client (path, query or body): past what a row can have (PostgreSQL INTEGER) it is
# invalid input, refused with 400 before a database driver is asked to bind it (SQLite cannot).
MAX_ROW_ID = 2**31 - 1
RowId = Annotated[int, Field(ge=1, le=MAX_ROW_ID)]


class Schema(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=False,
        serialize_by_alias=True,
        extra="forbid",
        str_strip_whitespace=True,
    )


class Page(Schema, Generic[T]):
    """One page of a list, in a stable order; follow nextCursor until it is null."""

    items: list[T]
    total: int
    next_cursor: str | None
