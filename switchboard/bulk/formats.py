"""Bulk files, read and written as streams (never loaded whole): JSON Lines, one record per line
with its "kind", or CSV, one file per kind named after it (users.csv), one column per field.

In CSV an empty cell means "not given" (the field's default), and object or list fields (a user's
address, department or devices; a service user's profile) hold JSON."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import IO, Any

from switchboard.bulk.formula_guard import guard, unguard
from switchboard.bulk.kinds import BY_PLURAL, KINDS, SERVICE_USER, Kind, Record, RowError, kind_of
from switchboard.directory.schemas import SERVICE_MODELS
from switchboard.errors import BadRequest

JSON_LINES = (".jsonl", ".ndjson")
# Levels of nested objects and lists in one record or cell (a record has three at most). Deeper
# text is refused before it is parsed: the json module recurses, and ~1,000 levels would end the
# whole import with a RecursionError.
MAX_DEPTH = 32
TOO_DEEP = f"nested deeper than {MAX_DEPTH} levels of objects and lists"
_STRING_OR_BRACKET = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


@dataclass(frozen=True, slots=True)
class Row:
    """One record of a file, or the reason it could not be read."""

    file: str
    line: int
    kind: Kind | None
    record: Record
    error: RowError | None = None


def file_kind(path: Path) -> Kind | None:
    """The kind a CSV file holds, from its name (users.csv); None for JSON Lines (kind per line)."""
    if path.suffix.lower() in JSON_LINES:
        return None
    if path.suffix.lower() != ".csv":
        raise BadRequest.field("file", f"{path.name}: a .csv or .jsonl file")
    kind = BY_PLURAL.get(path.stem.lower())
    if kind is None:
        names = ", ".join(f"{k.plural}.csv" for k in KINDS)
        raise BadRequest.field("file", f"{path.name}: a CSV file is named after its kind: {names}")
    return kind


def load_order(paths: Iterable[Path]) -> list[Path]:
    """Parents first: tenants.csv before groups.csv before users.csv; JSON Lines files as given
    (each holds its records in order), before the CSV files."""
    order = {kind.name: index for index, kind in enumerate(KINDS)}
    listed = list(paths)
    return sorted(listed, key=lambda p: (order[k.name] + 1 if (k := file_kind(p)) else 0, listed.index(p)))


def read_rows(path: Path) -> Iterator[Row]:
    kind = file_kind(path)
    with path.open(encoding="utf-8-sig", newline="") as stream:
        yield from (_json_lines(path.name, stream) if kind is None else _csv_rows(path.name, stream, kind))


def too_deep(text: str) -> bool:
    """JSON text nested deeper than MAX_DEPTH: its brackets outside strings counted, in one pass."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return False
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif token in ("]", "}"):
            depth -= 1
    return False


def _json_lines(name: str, stream: IO[str]) -> Iterator[Row]:
    for line, text in enumerate(stream, 1):
        if not text.strip():
            continue
        if too_deep(text):
            yield Row(name, line, None, {}, RowError("", TOO_DEEP))
            continue
        try:
            record = json.loads(text)
        except ValueError:
            yield Row(name, line, None, {}, RowError("", "not a JSON object"))
            continue
        if not isinstance(record, dict):
            yield Row(name, line, None, {}, RowError("", "not a JSON object"))
            continue
        try:
            kind = kind_of(str(record.pop("kind", "")))
        except BadRequest:
            yield Row(
                name, line, None, record, RowError("kind", f"one of {', '.join(k.name for k in KINDS)}")
            )
            continue
        yield Row(name, line, kind, record)


def _csv_rows(name: str, stream: IO[str], kind: Kind) -> Iterator[Row]:
    reader = csv.reader(stream)
    header = next(reader, None)
    if header is None:
        return
    columns = [column.strip() for column in header]
    known = set(columns_of(kind))
    unknown = [column for column in columns if column not in known]
    if unknown or len(set(columns)) != len(columns):
        reason = f"unknown columns {', '.join(unknown)}" if unknown else "a column is named twice"
        yield Row(name, 1, kind, {}, RowError("", f"{reason}; the columns are {', '.join(columns_of(kind))}"))
        return
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield Row(name, line, kind, {}, RowError("", f"not valid CSV: {exc}"))
            return
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(columns):
            yield Row(name, line, kind, {}, RowError("", f"{len(cells)} values for {len(columns)} columns"))
            continue
        try:
            yield Row(name, line, kind, _record(kind, columns, cells))
        except RowError as error:
            yield Row(name, line, kind, {}, error)


def _record(kind: Kind, columns: list[str], cells: list[str]) -> Record:
    record: Record = {}
    for column, cell in zip(columns, cells, strict=True):
        if cell == "":
            continue
        cell = unguard(cell)
        if column in kind.json_fields:
            if too_deep(cell):
                raise RowError(column, TOO_DEEP)
            try:
                record[column] = json.loads(cell)
            except ValueError as exc:
                raise RowError(column, "not valid JSON") from exc
        else:
            record[column] = cell
    return record


@cache
def columns_of(kind: Kind) -> list[str]:
    """A kind's CSV columns: its parents' ids, then its fields (a service user: every kind's)."""
    models = (
        [model[0] for model in SERVICE_MODELS.values()] if kind is SERVICE_USER else [kind.create_model({})]
    )
    fields: list[str] = []
    for model in models:
        for name, info in model.model_fields.items():
            alias = info.alias or name
            if alias not in fields:
                fields.append(alias)
    return [*kind.context, *fields]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return guard(text)


class Writer:
    """Records out, as JSON Lines (one file) or CSV (one file per kind, in a directory)."""

    def __init__(self, target: Path, csv_files: bool) -> None:
        self._target = target
        self._csv = csv_files
        self._streams: dict[str, tuple[IO[str], Any]] = {}
        if csv_files:
            target.mkdir(parents=True, exist_ok=True)
        else:
            self._lines = target.open("w", encoding="utf-8", newline="\n")

    def write(self, kind: Kind, record: Record) -> None:
        if not self._csv:
            self._lines.write(json.dumps({"kind": kind.name, **record}, ensure_ascii=False) + "\n")
            return
        if kind.name not in self._streams:
            opened = (self._target / f"{kind.plural}.csv").open("w", encoding="utf-8", newline="")
            self._streams[kind.name] = (opened, csv.writer(opened))
            self._streams[kind.name][1].writerow(columns_of(kind))
        writer = self._streams[kind.name][1]
        writer.writerow([_cell(record.get(column)) for column in columns_of(kind)])

    def close(self) -> None:
        if not self._csv:
            self._lines.close()
        for stream, _ in self._streams.values():
            stream.close()
