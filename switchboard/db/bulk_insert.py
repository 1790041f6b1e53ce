"""Many rows into one table at the driver's speed: executemany on SQLite, COPY on PostgreSQL.

SQLAlchemy's per-row parameter handling costs more than the database's insert itself once there
are thousands of rows (tens of µs a row); here each column's type conversion is looked up once,
values shared by every row are converted once, and the rows go to the driver as plain tuples."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any

import psycopg
from sqlalchemy import Connection, Table, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from switchboard.db.fastread import refuse_nul

Convert = Callable[[Any], Any]


def insert_rows(
    session: Session, table: Table, rows: Sequence[Mapping[str, Any]], shared: Mapping[str, Any]
) -> None:
    """Insert the rows (each with the same keys, column names) plus the `shared` values, in the
    session's transaction; the columns' types convert the values exactly as a Core insert would.
    A unique or foreign-key violation raises SQLAlchemy's IntegrityError on both engines."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    # The dialect's own variant of each type (psycopg wraps JSON values, say), as Core would use.
    processors = {
        name: table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in [*rows[0], *shared]
    }
    converters = {name: convert for name in rows[0] if (convert := processors[name]) is not None}
    constant = {
        name: convert(value) if (convert := processors[name]) is not None else value
        for name, value in shared.items()
    }
    if dialect.name == "postgresql":
        _copy(connection, table, rows, converters, constant)
    else:
        _execute_many(connection, table, rows, converters, constant)


def _execute_many(
    connection: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    converters: Mapping[str, Convert],
    constant: Mapping[str, Any],
) -> None:
    compiled = insert(table).compile(dialect=connection.dialect, column_keys=[*rows[0], *constant])
    order = list(compiled.positiontup or ())  # sqlite3 takes qmark parameters: tuples in this order
    take = itemgetter(*order)
    fix = [(order.index(name), convert) for name, convert in converters.items()]
    params = []
    for row in rows:
        values = list(take({**row, **constant}))
        for position, convert in fix:
            values[position] = convert(values[position])
        params.append(tuple(values))
    connection.exec_driver_sql(compiled.string, params)


def _copy(
    connection: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    converters: Mapping[str, Convert],
    constant: Mapping[str, Any],
) -> None:
    quote = connection.dialect.identifier_preparer.quote
    per_row = list(rows[0])
    columns = ", ".join(quote(name) for name in [*per_row, *constant])
    statement = f"COPY {quote(table.name)} ({columns}) FROM STDIN"
    shared = tuple(constant.values())
    steps = [(name, converters.get(name)) for name in per_row]
    driver = connection.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                values = tuple(convert(row[name]) if convert else row[name] for name, convert in steps)
                refuse_nul(values)  # COPY bypasses the engine's check (see engine.py)
                copy.write_row(values + shared)
    except psycopg.errors.IntegrityError as exc:
        raise IntegrityError(statement, None, exc) from exc
