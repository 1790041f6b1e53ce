"""Base for every API schema: camelCase on the wire, unknown fields rejected, partial updates."""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.alias_generators import to_camel
from pydantic.fields import FieldInfo

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


M = TypeVar("M", bound=Schema)


def constrained_type(info: FieldInfo) -> Any:
    """The field's type with its constraints (max_length, ge, pattern, ...) kept on it."""
    return Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation


def partial_of(model: type[M], name: str, exclude: tuple[str, ...] = ()) -> type[Schema]:
    """The same fields as `model` less `exclude`, each optional: the body of a PATCH."""
    fields: dict[str, Any] = {
        field_name: (constrained_type(info) | None, None)
        for field_name, info in model.model_fields.items()
        if field_name not in exclude
    }
    partial: type[Schema] = create_model(name, __base__=Schema, **fields)
    partial.__doc__ = f"Partial update of {model.__name__}: only the fields sent are changed."
    return partial


class Page(Schema, Generic[T]):
    """One page of a list, in a stable order; follow nextCursor until it is null."""

    items: list[T]
    total: int
    next_cursor: str | None
