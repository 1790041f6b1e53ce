"""Base for every API schema: camelCase on the wire, unknown fields rejected; the page of a list."""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.alias_generators import to_camel, to_snake

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


class ListPage(Schema):
    """One page of a list, in a stable order, its items under the list's key (APIO's envelope:
    `{"tenants": [...]}`); follow nextCursor until it is null."""

    key: ClassVar[str]  # the plural, camelCase name the items answer under; total and nextCursor
    # follow it (the fields are page_of's, so the key comes first in the document too)

    @classmethod
    def body(cls, items: list[Any], total: int, next_cursor: str | None) -> dict[str, object]:
        """The answer as json_response sends it (the hot paths skip building the model)."""
        return {cls.key: items, "total": total, "nextCursor": next_cursor}


@cache
def page_of(item: type[BaseModel], key: str) -> type[ListPage]:
    """The page model of the list of `item`s answering under `key`: one named model per pair, so
    the OpenAPI document shows each list's real key."""
    if key != to_camel(to_snake(key)) or key in ("total", "nextCursor"):
        raise ValueError(f"{key!r} is not a camelCase list key")
    fields: dict[str, Any] = {
        to_snake(key): (list[item], Field(alias=key)),  # type: ignore[valid-type]
        "total": (int, ...),
        "next_cursor": (str | None, ...),
    }
    model = create_model(
        f"{key[0].upper()}{key[1:]}Page",
        __base__=ListPage,
        __doc__=f"One page of {key}, in a stable order; follow nextCursor until it is null.",
        __module__=ListPage.__module__,
        **fields,
    )
    model.key = key
    return model
