"""Import jobs: a bulk import started over the API, run in a background thread, its progress kept in
the database (another server worker may answer the client's polls)."""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Select,
    bindparam,
    func,
    select,
    true,
)
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from switchboard.access.policy import (
    Kind,
    may_import,
    may_import_system_sized,
    scope_params,
    visibility,
    visibility_key,
)
from switchboard.access.principal import Principal
from switchboard.bulk.importer import Importer, Outcome, count_rows
from switchboard.bulk.models import ImportJob
from switchboard.db.base import utcnow
from switchboard.db.engine import Database
from switchboard.db.fastread import FastReader
from switchboard.directory.models import Tenant
from switchboard.errors import Forbidden, NotFound, SwitchboardError
from switchboard.kit.heartbeats import SAVE_EVERY, seen_status
from switchboard.settings import Settings

log = logging.getLogger(__name__)

MAX_STORED_PROBLEMS = 100
FAILED = "The import failed unexpectedly; the server log has the details."


@dataclass
class Progress:
    """The columns a running job changes (named as they are), kept in memory by its thread."""

    status: str = "running"
    phase: str = "counting"
    rows_total: int | None = None
    rows_checked: int = 0
    rows_loaded: int = 0
    rows_skipped: int = 0
    rows_created: int = 0
    rows_updated: int = 0
    rows_unchanged: int = 0
    problem_count: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)
    message: str | None = None
    updated_at: datetime = field(default_factory=utcnow)
    finished_at: datetime | None = None

    def outcome(self, outcome: Outcome) -> None:
        self.rows_created, self.rows_updated = outcome.created, outcome.updated
        self.rows_unchanged, self.rows_skipped = outcome.unchanged, outcome.skipped
        self.problem_count = outcome.problem_count
        # Replaced whole, never changed in place: a reader in another thread copies it as it is.
        self.problems = [asdict(problem) for problem in outcome.problems[:MAX_STORED_PROBLEMS]]


# Jobs running in this process (by job id), so that its own answers are live between progress writes
# (and while the database cannot be written).
_live: dict[str, Progress] = {}
_threads: set[threading.Thread] = set()
_threads_lock = threading.Lock()


def require_importer(principal: Principal) -> None:
    if not may_import(principal):
        raise Forbidden("Bulk import needs system or tenant administrator rights.")


def upload_limit(settings: Settings, principal: Principal) -> int:
    """The largest file the principal may import, in bytes."""
    if may_import_system_sized(principal):
        return settings.import_max_bytes
    return min(settings.import_tenant_max_bytes, settings.import_max_bytes)


def upload_name(kind: str | None) -> str:
    """The stored file's name: fixed per format, so the same file posted again has the same
    checkpoint (keyed by name and contents) and resumes an interrupted import."""
    return f"{kind}.csv" if kind else "upload.jsonl"


def uploads_dir(data_dir: Path, job_id: str) -> Path:
    return data_dir / "imports" / "uploads" / job_id


def checkpoints_dir(data_dir: Path) -> Path:
    return data_dir / "imports"  # where `switchboard import` keeps its checkpoints too


def create_job(
    session: Session, principal: Principal, job_id: str, file_name: str, check_only: bool
) -> ImportJob:
    job = ImportJob(
        job_id=job_id,
        tenant_pk=principal.tenant_pk if principal.role != "system" else None,
        created_by=principal.audit_name,
        file_name=file_name,
        check_only=check_only,
        **asdict(Progress()),
    )
    session.add(job)
    session.flush()
    return job


def _select(principal: Principal) -> Select[Any]:
    return (
        select(*ImportJob.__table__.c, Tenant.tenant_id)
        .outerjoin(Tenant, Tenant.pk == ImportJob.tenant_pk)
        .where(visibility(principal, Kind.IMPORT_JOB))
    )


# Read through the raw reader: on SQLite it is not held up by whichever transaction holds the write
# lock (a load's batch, another request).


async def read_job(reader: FastReader, principal: Principal, job_id: str) -> dict[str, Any]:
    """The job as the API shows it; NotFound when missing or outside the principal's view."""
    query = reader.compiled(
        ("import_jobs.one", visibility_key(principal)),
        lambda: _select(principal).where(ImportJob.job_id == bindparam("job_id")),
    )
    row = await reader.fetch_one(query, {**scope_params(principal), "job_id": job_id})
    if row is None:
        raise NotFound(f"import job {job_id!r} not found")
    return job_view(row)


async def read_jobs(
    reader: FastReader, principal: Principal, before: int | None, limit: int
) -> tuple[list[dict[str, Any]], int | None]:
    """Up to `limit` jobs the principal may see, newest first (keyset on pk), and the cursor of the
    next page (its last pk) if there is one."""
    query = reader.compiled(
        ("import_jobs.page", visibility_key(principal), before is not None),
        lambda: (
            _select(principal)
            .where(ImportJob.pk < bindparam("before") if before is not None else true())
            .order_by(ImportJob.pk.desc())
            .limit(bindparam("limit"))
        ),
    )
    params = {**scope_params(principal), "before": before, "limit": limit + 1}
    rows = await reader.fetch_all(query, params)
    more = len(rows) > limit
    return [job_view(row) for row in rows[:limit]], rows[limit - 1]["pk"] if more else None


async def count_jobs(reader: FastReader, principal: Principal) -> int:
    query = reader.compiled(
        ("import_jobs.count", visibility_key(principal)),
        lambda: (
            select(func.count().label("total"))
            .select_from(ImportJob)
            .where(visibility(principal, Kind.IMPORT_JOB))
        ),
    )
    row = await reader.fetch_one(query, scope_params(principal))
    return int(row["total"]) if row else 0


def job_view(row: dict[str, Any]) -> dict[str, Any]:
    live = _live.get(row["job_id"])
    # A job running in this process is read from its thread's memory: it knows best.
    state = {**row, **asdict(live)} if live is not None else row
    status = seen_status(state["status"], state["updated_at"], here=live is not None)
    finished = state["finished_at"]
    return {
        "id": row["job_id"],
        "tenantId": row["tenant_id"],
        "status": status,
        "phase": state["phase"],
        "checkOnly": row["check_only"],
        "file": row["file_name"],
        "rowsTotal": state["rows_total"],
        "rowsChecked": state["rows_checked"],
        "rowsLoaded": state["rows_loaded"],
        "rowsSkipped": state["rows_skipped"],
        "rowsCreated": state["rows_created"],
        "rowsUpdated": state["rows_updated"],
        "rowsUnchanged": state["rows_unchanged"],
        "problemCount": state["problem_count"],
        "problems": state["problems"],
        "message": state["message"],
        "createdBy": row["created_by"],
        "createdAt": row["created_at"].isoformat(),
        "updatedAt": state["updated_at"].isoformat(),
        "finishedAt": finished.isoformat() if finished else None,
    }


class _Run:
    """The job's thread: count, check, then (no problems, not check-only) load."""

    def __init__(
        self, db: Database, principal: Principal, job: ImportJob, upload: Path, checkpoints: Path
    ) -> None:
        self._db = db
        self._principal = principal
        self._pk = job.pk
        self._job_id = job.job_id
        self._check_only = job.check_only
        self._upload = upload
        self._checkpoints = checkpoints
        self._progress = _live[job.job_id] = Progress()
        self._saved = time.monotonic()

    def __call__(self) -> None:
        progress = self._progress
        try:
            self._import()
        except SwitchboardError as exc:  # worded for clients
            progress.status, progress.message = "failed", exc.detail[:200]
        except Exception:
            log.exception("import job %s failed", self._job_id)
            progress.status, progress.message = "failed", FAILED
        progress.finished_at = utcnow()
        try:
            self._save()
        except Exception:  # left "running": it reads as interrupted once its heartbeat is stale
            log.exception("import job %s: could not record its end", self._job_id)
        finally:
            _live.pop(self._job_id, None)
            shutil.rmtree(self._upload.parent, ignore_errors=True)

    def _import(self) -> None:
        progress, files = self._progress, [self._upload]
        progress.rows_total = count_rows(files)
        progress.phase = "checking"
        self._save()
        checking = self._advance("rows_checked", save=True)
        keep = None if self._check_only else self._checkpoints
        checked = Importer(self._db, self._principal, progress=checking).check(files, keep)
        progress.outcome(checked)
        if checked.problem_count:
            progress.status = "refused"
            return
        if self._check_only:
            progress.status = "done"
            return
        progress.phase = "loading"
        self._save()
        loader = Importer(self._db, self._principal, progress=self._advance("rows_loaded", save=True))
        loaded = loader.load(files, self._checkpoints, checked.validated)
        progress.outcome(loaded)
        # Stopped: a row refused after the check (the directory changed meanwhile); the batches
        # before it are written, and posting the file again resumes after them.
        progress.status = "stopped" if loaded.stopped else "done"

    def _advance(self, counter: str, save: bool) -> Callable[[int], None]:
        def advance(rows: int) -> None:
            setattr(self._progress, counter, getattr(self._progress, counter) + rows)
            if save and time.monotonic() - self._saved >= SAVE_EVERY:
                self._save()

        return advance

    def _save(self) -> None:
        self._progress.updated_at = utcnow()
        with self._db.transaction() as session:
            session.execute(
                sql_update(ImportJob).where(ImportJob.pk == self._pk).values(**asdict(self._progress))
            )
        self._saved = time.monotonic()


def start(db: Database, principal: Principal, job: ImportJob, upload: Path, checkpoints: Path) -> None:
    """Run the (committed) job in a daemon thread."""
    run = _Run(db, principal, job, upload, checkpoints)

    def target() -> None:
        try:
            run()
        finally:
            with _threads_lock:
                _threads.discard(thread)

    thread = threading.Thread(target=target, name=f"import-{job.job_id}", daemon=True)
    with _threads_lock:
        _threads.add(thread)
    thread.start()


def join_running(timeout: float) -> bool:
    """Wait for the jobs running in this process (at shutdown, before the engine goes; in tests);
    True when none is left."""
    deadline = time.monotonic() + timeout
    with _threads_lock:
        running = list(_threads)
    for thread in running:
        thread.join(max(0.0, deadline - time.monotonic()))
    return not any(thread.is_alive() for thread in running)
