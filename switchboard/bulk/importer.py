"""Import: every row checked first (a dry run of the whole load, rolled back), then written in
batches, each its own transaction, so an interruption leaves whole batches only. Each row is an
upsert through the directory services, within what the importing principal may manage: created
if missing, changed if different, left alone if the same — importing a file twice changes
nothing the second time, and a re-run after an interruption picks up where the last one stopped."""

from __future__ import annotations

import hashlib
import json
import marshal
import os
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from sqlalchemy.orm import Session

from switchboard.access.principal import Principal
from switchboard.bulk import BATCH_SIZE
from switchboard.bulk.formats import Row, load_order, read_rows
from switchboard.bulk.kinds import Change, Plain, Result, RowError
from switchboard.db.engine import Database
from switchboard.db.planner import plan_for_each_call, refresh_statistics

GROWING_TABLES = ("groups", "users", "service_users")
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
    validated: Validated | None = None  # a check's validated rows, for the load of the same files

    def count(self, change: Change) -> None:
        setattr(self, change, getattr(self, change) + 1)

    def problem(self, row: Row, error: RowError) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(row.file, row.line, error.field, error.reason))


class BatchRefused(Exception):
    """A batch of a load met a refused row (the data changed since the check): none of it is written."""


def files_digest(paths: list[Path]) -> str:
    """The files' names and contents, hashed: what a checkpoint or a check's rows belong to."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + b"\0")
        with path.open("rb") as stream:
            while chunk := stream.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()[:32]


class Checkpoint:
    """How many rows of these files an interrupted load has committed (a file in the data dir);
    the key is the files' contents, so a changed file starts again from the top."""

    def __init__(self, directory: Path, paths: list[Path]) -> None:
        self.digest = files_digest(paths)
        self.path = directory / f"import-{self.digest}.json"

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


@dataclass(frozen=True)
class Validated:
    """The rows a check validated, kept for the load of the same files so that it does not
    validate them again: per batch, each row's validated body as plain data (None: the load
    validates that row itself), written with marshal (plain values only) to a file in the data
    dir. The load uses them only for the same files (digest) cut into the same batches; it still
    applies every rule against the database as it is then."""

    path: Path
    digest: str
    batch_size: int

    @staticmethod
    def write(stream: IO[bytes], batch: list[Plain | None]) -> None:
        # Each batch with its length first: marshal.load on a file reads in small pieces (slow).
        data = marshal.dumps(batch)
        stream.write(len(data).to_bytes(8, "big") + data)

    def batches(self) -> Generator[list[Plain | None]]:
        with self.path.open("rb") as stream:
            while size := int.from_bytes(stream.read(8), "big"):
                # Written by this process's check moments before, in the data dir (which
                # holds the database itself); marshal builds plain values, never runs code.
                yield marshal.loads(stream.read(size))  # noqa: S302

    @property
    def partial(self) -> Path:
        """Where the check writes them (moved to `path` once the check is done)."""
        return self.path.with_suffix(".partial")

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


def _rows(paths: Iterable[Path]) -> Iterator[Row]:
    for path in paths:
        yield from read_rows(path)


def _runs(batch: list[Row]) -> Iterator[list[Row]]:
    """A batch cut into runs of one kind (what a kind's batch path takes); unreadable rows alone."""
    run: list[Row] = []
    for row in batch:
        if run and (row.error is not None or run[0].error is not None or row.kind is not run[0].kind):
            yield run
            run = []
        run.append(row)
    if run:
        yield run


def _batches(rows: Iterator[Row], size: int) -> Iterator[list[Row]]:
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class _Statistics:
    """Statistics refreshed each time the rows written have doubled (about 10 times for 1M rows)."""

    def __init__(self, batch_size: int) -> None:
        self._at = 0
        self._batch_size = batch_size

    def refresh(self, session: Session, rows: int) -> None:
        if rows >= 2 * self._at + self._batch_size:
            refresh_statistics(session, GROWING_TABLES)
            self._at = rows


class Importer:
    def __init__(
        self,
        db: Database,
        principal: Principal,
        batch_size: int = BATCH_SIZE,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self._db = db
        self._principal = principal
        self._batch_size = batch_size
        self._progress = progress or (lambda rows: None)
        self._statistics = _Statistics(batch_size)

    def check(self, paths: list[Path], keep: Path | None = None) -> Outcome:
        """Every row, loaded in one transaction that is then rolled back: what a load would do, and
        every row it would refuse (a later row may need an earlier one, so the rows are applied).
        On SQLite that happens in a copy of the database, so the check holds no lock that other
        writers wait for. With `keep` (a directory), the validated rows are kept there for the
        load (Outcome.validated) when no row is refused."""
        outcome = Outcome()
        ordered = load_order(paths)
        kept = None
        if keep is not None:
            digest = files_digest(ordered)
            kept = Validated(keep / f"import-{digest}.rows", digest, self._batch_size)
        with ExitStack() as stack:
            spool: IO[bytes] | None = None
            if kept is not None:
                kept.path.parent.mkdir(parents=True, exist_ok=True)
                spool = stack.enter_context(kept.partial.open("wb"))
            sessions = stack.enter_context(self._db.dry_run_sessions())
            session = stack.enter_context(sessions())
            plan_for_each_call(session)
            if kept is not None:
                stack.callback(kept.partial.unlink, missing_ok=True)  # gone unless moved to path
            try:
                for batch in _batches(_rows(ordered), self._batch_size):
                    validated = self._check_batch(session, batch, outcome)
                    if spool is not None:
                        Validated.write(spool, validated)
                    self._statistics.refresh(session, outcome.rows)
                    session.expunge_all()  # a million rows must not pile up in the identity map
                    self._progress(len(batch))
            finally:
                session.rollback()
            if kept is not None and spool is not None and not outcome.problem_count:  # a load follows
                spool.close()
                os.replace(kept.partial, kept.path)
                outcome.validated = kept
        return outcome

    def _check_batch(self, session: Session, batch: list[Row], outcome: Outcome) -> list[Plain | None]:
        """The batch checked; each row's validated body as plain data (None for other kinds)."""
        validated: list[Plain | None] = []
        for run in _runs(batch):
            kind = run[0].kind
            plains = [kind.validate(row.record) for row in run] if kind and kind.validate else None
            for row, result in zip(run, self._check_run(session, run, plains), strict=True):
                outcome.rows += 1
                if isinstance(result, RowError):
                    outcome.problem(row, result)
                else:
                    outcome.count(result)
            validated.extend(plains or [None] * len(run))
        return validated

    def _apply_run(
        self, session: Session, run: list[Row], validated: Sequence[Plain | None] | None
    ) -> list[Result]:
        first = run[0]
        if first.error is not None or first.kind is None:
            return [first.error or RowError("kind", "missing")]
        return first.kind.apply_many(session, self._principal, [row.record for row in run], validated)

    def _check_run(
        self, session: Session, run: list[Row], validated: Sequence[Plain | None] | None
    ) -> list[Result]:
        """The run's results; when it is refused as a whole, row by row, to say which row."""
        try:
            with session.begin_nested():
                return self._apply_run(session, run, validated)
        except RowError:
            if len(run) == 1:
                raise
        return [
            self._check_run_or_error(session, [row], validated[at : at + 1] if validated else None)
            for at, row in enumerate(run)
        ]

    def _check_run_or_error(
        self, session: Session, run: list[Row], validated: Sequence[Plain | None] | None
    ) -> Result:
        try:
            (result,) = self._check_run(session, run, validated)
        except RowError as error:
            return error
        return result

    def load(self, paths: list[Path], checkpoints: Path, validated: Validated | None = None) -> Outcome:
        """Write the rows, a batch per transaction; after an interruption, the next run of the same
        files skips the batches already committed (and would find them unchanged anyway).
        `validated`: the check's validated rows (Outcome.validated), used if they are of these
        files cut the same way, and discarded at the end."""
        ordered = load_order(paths)
        checkpoint = Checkpoint(checkpoints, ordered)
        outcome = Outcome()
        already = checkpoint.done()
        same = validated is not None and (validated.digest, validated.batch_size) == (
            checkpoint.digest,
            self._batch_size,
        )
        kept = validated.batches() if validated is not None and same else None
        try:
            for batch in _batches(_rows(ordered), self._batch_size):
                plains = next(kept, None) if kept is not None else None
                if kept is not None and plains is not None and len(plains) != len(batch):
                    kept.close()  # not this file's rows after all: the load validates them itself
                    kept, plains = None, None
                if outcome.skipped + len(batch) <= already:
                    outcome.skipped += len(batch)
                    outcome.rows += len(batch)
                    self._progress(len(batch))
                    continue
                try:
                    changes = self._write_batch(batch, outcome, plains)
                except BatchRefused:
                    outcome.stopped = True  # the batch is rolled back; the batches before it stay
                    return outcome
                outcome.rows += len(batch)
                for change in changes:
                    outcome.count(change)
                checkpoint.save(outcome.rows)
                self._progress(len(batch))
                self._db.give_way()  # other requests' writes go between two batches
        finally:
            if kept is not None:
                kept.close()
            if validated is not None:
                validated.discard()
        checkpoint.clear()
        return outcome

    def _write_batch(
        self, batch: list[Row], outcome: Outcome, validated: list[Plain | None] | None
    ) -> list[Change]:
        """One batch, one transaction: all of it or (on a refused row, after the check) none."""
        with self._db.transaction() as session:
            plan_for_each_call(session)
            changes: list[Change] = []
            at = 0
            for run in _runs(batch):
                given = validated[at : at + len(run)] if validated is not None else None
                at += len(run)
                try:
                    results = self._apply_run(session, run, given)
                except RowError as whole:
                    outcome.problem(run[0], whole)  # refused as a whole: said of its first row
                    raise BatchRefused from whole
                refused = False
                for row, result in zip(run, results, strict=True):
                    if isinstance(result, RowError):
                        outcome.problem(row, result)
                        refused = True
                    else:
                        changes.append(result)
                if refused:
                    raise BatchRefused  # rolled back, with every refused row of the run reported
            self._statistics.refresh(session, outcome.rows + len(changes))
            return changes


def count_rows(paths: Iterable[Path]) -> int:
    """Rows in the files (for a progress bar's total and its ETA): one quick pass."""
    return sum(1 for _ in _rows(paths))
