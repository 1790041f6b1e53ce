"""Many rows into one table through the driver's own executemany.

SQLAlchemy's per-row parameter handling costs more than the database's insert itself once there
are thousands of rows (tens of µs a row); here each column's type conversion is looked up once,
values shared by every row are converted once, and the rows go to the driver as plain tuples or
dicts, in the statement SQLAlchemy compiled."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session


def insert_rows(
    session: Session, table: Table, rows: Sequence[Mapping[str, Any]], shared: Mapping[str, Any]
) -> None:
    """Insert the rows (each with the same keys, column names) plus the `shared` values, in the
    session's transaction; the columns' types convert the values exactly as a Core insert would."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    names = [*rows[0], *shared]
    compiled = insert(table).compile(dialect=dialect, column_keys=names)
    # The dialect's own variant of each type (psycopg wraps JSON values, say), as Core would use.
    processors = {name: table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names}
    converters: dict[str, Callable[[Any], Any]] = {
        name: processor for name in rows[0] if (processor := processors[name]) is not None
    }
    constant = {
        name: processor(value) if (processor := processors[name]) is not None else value
        for name, value in shared.items()
    }
    params: list[Any]
    if dialect.positional:  # qmark (sqlite3): sequences in the statement's order
        order = list(compiled.positiontup or ())
        take = itemgetter(*order)
        fix = [(order.index(name), convert) for name, convert in converters.items()]
        params = []
        for row in rows:
            values = list(take({**row, **constant}))
            for position, convert in fix:
                values[position] = convert(values[position])
            params.append(tuple(values))
    else:  # pyformat (psycopg): dicts by name
        params = []
        for row in rows:
            named = {**row, **constant}
            for name, convert in converters.items():
                named[name] = convert(named[name])
            params.append(named)
    connection.exec_driver_sql(compiled.string, params)
