"""APIO's filter grammar, parsed in one place: `(sensitive|insensitive)<Field>(Equals|Contains|Starts)`.

Criteria are ANDed, each at most once, and become SQL conditions with bind parameters that behave
the same on SQLite and PostgreSQL: LIKE patterns escape `%`, `_` and `\\`; case-insensitive
matches lower both sides (or use the lower-cased key column of an id); case-sensitive ones never
use LIKE, which SQLite folds for ASCII.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement, Integer, bindparam, func
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from switchboard.errors import BadRequest

Mode = Literal["Equals", "Contains", "Starts"]
MODES: tuple[Mode, ...] = ("Equals", "Contains", "Starts")
NAME = re.compile(r"(sensitive|insensitive)([A-Z][A-Za-z0-9]*?)(Equals|Contains|Starts)")
MAX_VALUE = 255  # the longest field criteria compare (externalId1..4)
# (field, case-sensitive, mode): which conditions a statement holds, its values being parameters.
Signature = tuple[tuple[str, bool, str], ...]


@dataclass(frozen=True, slots=True)
class Field:
    """A field criteria may name: its column as stored and, for an id, its lower-cased key column."""

    column: Any
    key: Any = None


@dataclass(frozen=True, slots=True)
class Criterion:
    field: str  # the field's canonical name ("UserLastName")
    sensitive: bool
    mode: Mode
    value: str
    keyed: bool = False  # insensitive matches read the field's lower-cased key column

    @property
    def name(self) -> str:
        return f"{'sensitive' if self.sensitive else 'insensitive'}{self.field}{self.mode}"

    @property
    def param(self) -> str:
        return f"c_{self.name}"

    @property
    def signature(self) -> tuple[str, bool, str]:
        return (self.field, self.sensitive, self.mode)

    def bound(self) -> str:
        """The value bound to the condition's parameter: as given, lower-cased like a key column,
        or a LIKE pattern."""
        value = self.value.lower() if self.keyed and not self.sensitive else self.value
        if self.mode == "Equals" or self.sensitive:
            return value
        pattern = escape_like(value) + "%"
        return pattern if self.mode == "Starts" else "%" + pattern


def escape_like(text: str) -> str:
    """A LIKE pattern matching `text` literally (with ESCAPE '\\')."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class position_in(FunctionElement[int]):
    """Where the second argument starts in the first (1-based, 0 if nowhere), case-sensitively."""

    type = Integer()
    name = "position_in"
    inherit_cache = True


@compiles(position_in, "sqlite")
def _position_sqlite(element: position_in, compiler: Any, **kw: Any) -> str:
    return f"instr({compiler.process(element.clauses, **kw)})"


@compiles(position_in, "postgresql")
def _position_postgresql(element: position_in, compiler: Any, **kw: Any) -> str:
    return f"strpos({compiler.process(element.clauses, **kw)})"


def condition(signature: tuple[str, bool, str], field: Field) -> ColumnElement[bool]:
    """The SQL condition of one criterion; its value is the bind parameter Criterion.param."""
    name, sensitive, mode = signature
    param: Any = bindparam(Criterion(name, sensitive, mode, "").param)  # type: ignore[arg-type]
    column: Any
    if sensitive:
        column = field.column
        if mode == "Equals":
            return column == param  # type: ignore[no-any-return]
        if mode == "Starts":
            return func.substr(column, 1, func.length(param)) == param  # type: ignore[no-any-return]
        return position_in(column, param) > 0
    if field.key is not None:
        column, value = field.key, param  # the value is lower-cased as the key was when stored
    else:  # lower() on both sides: SQLite's folds ASCII only, and then alike on both
        column, value = func.lower(field.column), func.lower(param)
    if mode == "Equals":
        return column == value  # type: ignore[no-any-return]
    return column.like(value, escape="\\")  # type: ignore[no-any-return]


def criterion_names(fields: Iterable[str]) -> list[str]:
    """Every criterion name over these fields, in the documentation's order."""
    return [
        f"{case}{field}{mode}" for field in fields for case in ("insensitive", "sensitive") for mode in MODES
    ]


def text_value(name: str, value: Any) -> str:
    """A parameter's value as text (a JSON body may send a number); anything else is a 400."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BadRequest.field(name, "must be a string")
    text = str(value)
    if len(text) > MAX_VALUE:
        raise BadRequest.field(name, f"must be at most {MAX_VALUE} characters")
    return text


def parse_criteria(
    items: Iterable[tuple[str, Any]],
    fields: Mapping[str, Field],
    aliases: Mapping[str, str] | None = None,
) -> tuple[tuple[Criterion, ...], list[tuple[str, Any]]]:
    """The criteria among `items`, and the items that are not criteria. A criterion on a field
    not in `fields` (nor an alias of one), or the same criterion twice, is a 400 naming it."""
    aliases = aliases or {}
    found: dict[tuple[str, bool, str], Criterion] = {}
    rest: list[tuple[str, Any]] = []
    for name, value in items:
        match = NAME.fullmatch(name)
        if match is None:
            rest.append((name, value))
            continue
        case, field, mode = match.groups()
        field = aliases.get(field, field)
        if field not in fields:
            supported = ", ".join([*fields, *aliases])
            raise BadRequest.field(name, f"unknown criterion: the fields here are {supported}")
        criterion = Criterion(
            field,
            case == "sensitive",
            mode,  # type: ignore[arg-type]
            text_value(name, value),
            keyed=fields[field].key is not None,
        )
        if criterion.signature in found:
            raise BadRequest.field(name, "each criterion may be given once")
        found[criterion.signature] = criterion
    return tuple(found.values()), rest


def size_limit(name: str, value: Any, maximum: int) -> int:
    """APIO's sizeLimit / responseSizeLimit: how many rows a page holds, 1 to `maximum`."""
    text = text_value(name, value)
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= maximum):
        raise BadRequest.field(name, f"must be a whole number from 1 to {maximum}")
    return int(text)
