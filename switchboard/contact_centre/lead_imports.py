"""The console's CSV lead imports: written in a thread, their progress and outcome kept in the database."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from switchboard.access.policy import Kind, first_visible
from switchboard.access.principal import Principal
from switchboard.contact_centre.leads import Outcome, RowResult
from switchboard.contact_centre.models import Campaign, LeadImportRun
from switchboard.db.base import utcnow
from switchboard.db.engine import Database
from switchboard.errors import NotFound, SwitchboardError
from switchboard.kit.heartbeats import SAVE_EVERY, seen_status

log = logging.getLogger(__name__)

RUNNING, DONE, STOPPED = "running", "done", "stopped"  # and "interrupted", seen (seen_status)
INTERNAL_ERROR = "The import stopped on an internal error; the rows counted above were saved."

# Writes every row, telling its callback about each committed batch.
Write = Callable[[Callable[[list[RowResult]], None]], list[RowResult]]

# Runs whose thread is in this process: never "interrupted", however long a batch takes.
_here: set[str] = set()
_here_lock = threading.Lock()


def create_run(
    session: Session, principal: Principal, campaign: Campaign, file_name: str, updating: bool, total: int
) -> LeadImportRun:
    run = LeadImportRun(
        run_id=uuid.uuid4().hex,
        campaign_pk=campaign.pk,
        created_by=principal.audit_name,
        file_name=file_name[:200],
        updating=updating,
        status=RUNNING,
        rows_total=total,
        rows_done=0,
        rows_written=0,
        failed=[],
    )
    session.add(run)
    session.flush()
    return run


def find_run(session: Session, principal: Principal, campaign: Campaign, run_id: str) -> LeadImportRun:
    """The campaign's run as the policy shows it; NotFound when missing or not visible."""
    stmt = select(LeadImportRun).where(
        LeadImportRun.run_id == run_id, LeadImportRun.campaign_pk == campaign.pk
    )
    run = first_visible(session, principal, Kind.LEAD_IMPORT, stmt)
    if run is None:
        raise NotFound(f"lead import {run_id!r} of campaign {campaign.pk} not found or not visible")
    return run


def status_of(run: LeadImportRun) -> str:
    """running, done, stopped, or interrupted (running, but its process stopped writing)."""
    with _here_lock:
        here = run.run_id in _here
    return seen_status(run.status, run.updated_at, here)


def start(db: Database, run: LeadImportRun, lines: Sequence[int], write: Write) -> None:
    """Write the (committed) run's rows in a daemon thread: it finishes, and is recorded, even when
    the browser leaves at once. `lines[i]` is the line of the file row i starts on."""
    with _here_lock:
        _here.add(run.run_id)
    thread = threading.Thread(
        target=_Run(db, run.pk, run.run_id, lines), args=(write,), name="lead-import", daemon=True
    )
    thread.start()


class _Run:
    def __init__(self, db: Database, pk: int, run_id: str, lines: Sequence[int]) -> None:
        self._db = db
        self._pk = pk
        self._run_id = run_id
        self._lines = lines
        self._done = self._written = 0
        self._saved = time.monotonic()

    def __call__(self, write: Write) -> None:
        outcome: dict[str, Any] = {"status": DONE, "message": None}
        results: list[RowResult] = []
        try:
            results = write(self._on_batch)
        except SwitchboardError as error:  # nothing was written (busy, or the campaign went away)
            outcome.update(status=STOPPED, message=error.detail[:300])
        except Exception:
            log.exception("lead import %s failed", self._run_id)
            outcome.update(status=STOPPED, message=INTERNAL_ERROR)
        if results:
            self._done = len(results)
            self._written = sum(1 for r in results if r.outcome is Outcome.OK)
        failed = [
            [self._lines[r.index], r.external_id, int(r.outcome), r.detail]
            for r in results
            if r.outcome is not Outcome.OK
        ]
        try:
            self._save(failed=failed, finished_at=utcnow(), **outcome)
        except Exception:  # left "running": it reads as interrupted once its heartbeat is stale
            log.exception("lead import %s: could not record its end", self._run_id)
        finally:
            with _here_lock:
                _here.discard(self._run_id)

    def _on_batch(self, batch: list[RowResult]) -> None:
        self._done += len(batch)
        self._written += sum(1 for r in batch if r.outcome is Outcome.OK)
        if time.monotonic() - self._saved < SAVE_EVERY:
            return
        try:
            self._save()
        except Exception:  # the import goes on; the next batch or the end writes again
            log.exception("lead import %s: could not record its progress", self._run_id)

    def _save(self, **values: Any) -> None:
        with self._db.transaction() as session:
            session.execute(
                sql_update(LeadImportRun)
                .where(LeadImportRun.pk == self._pk)
                .values(rows_done=self._done, rows_written=self._written, updated_at=utcnow(), **values)
            )
        self._saved = time.monotonic()
