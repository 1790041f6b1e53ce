"""Import: every row checked first (a dry run of the whole load, rolled back), then written in
batches, each its own transaction, so an interruption leaves whole batches only. Each row is an
upsert through the directory services, within what the importing principal may manage: created
if missing, changed if different, left alone if the same — importing a file twice changes
nothing the second time, and a re-run after an interruption picks up where the last one stopped."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from sqlalchemy.orm import Session

from switchboard.access.principal import Principal
from switchboard.bulk.formats import Row, load_order, read_rows
from switchboard.bulk.kinds import Kind, Record, RowError
from switchboard.db.engine import Database
from switchboard.errors import NotFound, SwitchboardError

Change = Literal["created", "updated", "unchanged"]
MAX_PROBLEMS = 1000  # reported in full; past this only counted


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        return f"{where}: {self.field}: {self.reason}" if self.field else f"{where}: {self.reason}"


@dataclass
class Outcome:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0  # already loaded by an interrupted run
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    stopped: bool = False  # a load that met a refused row (the rows were changed since the check)

    def count(self, change: Change) -> None:
        setattr(self, change, getattr(self, change) + 1)

    def problem(self, row: Row, error: RowError) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(row.file, row.line, error.field, error.reason))


def apply_row(session: Session, principal: Principal, kind: Kind, record: Record) -> Change:
    """Create, change or leave one object; RowError when it cannot be loaded."""
    try:
        body = kind.body(record)
        stored = kind.stored(session, principal, record)
        if stored is None:
            kind.create(session, principal, record, body)
            return "created"
        changes = kind.changes(body, stored)
        if not changes:
            return "unchanged"
        update_model = kind.update_model(record)
        if update_model is None:
            raise RowError(kind.id_field, "exists and cannot be changed")
        kind.update(session, principal, record, update_model.model_validate(changes))
        return "updated"
    except NotFound as exc:
        # As the API answers: whatever is outside the principal's view reads as missing.
        raise RowError("", exc.detail) from exc
    except RowError:
        raise
    except SwitchboardError as exc:
        problem = (exc.errors or [{}])[0]
        raise RowError(problem.get("field", ""), problem.get("reason", exc.detail)) from exc


class Checkpoint:
    """How many rows of these files an interrupted load has committed (a file in the data dir);
    the key is the files' contents, so a changed file starts again from the top."""

    def __init__(self, directory: Path, paths: list[Path]) -> None:
        digest = hashlib.sha256()
        for path in paths:
            digest.update(path.name.encode() + b"\0")
            with path.open("rb") as stream:
                while chunk := stream.read(1 << 20):
                    digest.update(chunk)
        self.path = directory / f"import-{digest.hexdigest()[:32]}.json"

    def done(self) -> int:
        try:
            return int(json.loads(self.path.read_text())["rows"])
        except (OSError, ValueError, KeyError, TypeError):
            return 0

    def save(self, rows: int) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".tmp")
        partial.write_text(json.dumps({"rows": rows}))
        os.replace(partial, self.path)  # a crash leaves the old count or the new one, never half

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


def _rows(paths: Iterable[Path]) -> Iterator[Row]:
    for path in paths:
        yield from read_rows(path)


def _batches(rows: Iterator[Row], size: int) -> Iterator[list[Row]]:
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class Importer:
    def __init__(
        self,
        db: Database,
        principal: Principal,
        batch_size: int = 500,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self._db = db
        self._principal = principal
        self._batch_size = batch_size
        self._progress = progress or (lambda rows: None)

    def check(self, paths: list[Path]) -> Outcome:
        """Every row, loaded in one transaction that is then rolled back: what a load would do, and
        every row it would refuse (a later row may need an earlier one, so the rows are applied)."""
        outcome = Outcome()
        with self._db.sessions() as session:
            try:
                for batch in _batches(_rows(load_order(paths)), self._batch_size):
                    self._check_batch(session, batch, outcome)
                    session.expunge_all()  # a million rows must not pile up in the identity map
                    self._progress(len(batch))
            finally:
                session.rollback()
        return outcome

    def _check_batch(self, session: Session, batch: list[Row], outcome: Outcome) -> None:
        if all(row.error is None for row in batch):
            try:
                with session.begin_nested():
                    changes = [apply_row(session, self._principal, row.kind, row.record) for row in batch]  # type: ignore[arg-type]
            except RowError:
                pass
            else:
                outcome.rows += len(batch)
                for change in changes:
                    outcome.count(change)
                return
        # Something in the batch is refused: row by row, each in its own savepoint, to say which.
        for row in batch:
            outcome.rows += 1
            try:
                if row.error is not None:
                    raise row.error
                with session.begin_nested():
                    outcome.count(apply_row(session, self._principal, row.kind, row.record))  # type: ignore[arg-type]
            except RowError as error:
                outcome.problem(row, error)

    def load(self, paths: list[Path], checkpoints: Path) -> Outcome:
        """Write the rows, a batch per transaction; after an interruption, the next run of the same
        files skips the batches already committed (and would find them unchanged anyway)."""
        ordered = load_order(paths)
        checkpoint = Checkpoint(checkpoints, ordered)
        outcome = Outcome()
        already = checkpoint.done()
        for batch in _batches(_rows(ordered), self._batch_size):
            if outcome.skipped + len(batch) <= already:
                outcome.skipped += len(batch)
                outcome.rows += len(batch)
                self._progress(len(batch))
                continue
            try:
                changes = self._write_batch(batch, outcome)
            except RowError:
                outcome.stopped = True  # the batch is rolled back; the batches before it stay
                return outcome
            outcome.rows += len(batch)
            for change in changes:
                outcome.count(change)
            checkpoint.save(outcome.rows)
            self._progress(len(batch))
        checkpoint.clear()
        return outcome

    def _write_batch(self, batch: list[Row], outcome: Outcome) -> list[Change]:
        """One batch, one transaction: all of it or (on a refused row, after the check) none."""
        with self._db.transaction() as session:
            changes = []
            for row in batch:
                try:
                    if row.error is not None:
                        raise row.error
                    changes.append(apply_row(session, self._principal, row.kind, row.record))  # type: ignore[arg-type]
                except RowError as error:
                    outcome.problem(row, error)
                    raise
            return changes


def count_rows(paths: Iterable[Path]) -> int:
    """Rows in the files (for a progress bar's total and its ETA): one quick pass."""
    return sum(1 for _ in _rows(paths))
