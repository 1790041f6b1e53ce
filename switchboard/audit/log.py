"""Recording audit entries: buffered in memory, written in batches off the request path.

Buffering keeps the audit out of the response time, so it cannot reveal by timing whether a
404 was "missing" or "forbidden". Retention bounds the table (age and row count).
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select

from switchboard.access.principal import Principal
from switchboard.audit.models import AuditEntry
from switchboard.db.base import utcnow
from switchboard.db.engine import Database
from switchboard.db.failures import is_database_unavailable
from switchboard.logs import redact

MAX_BUFFER = 50_000  # beyond this, entries are counted as dropped rather than eat memory


def _text(value: str) -> str:
    # A NUL from a request (an id in a refusal's reason) is no text the database stores: written
    # as is, one entry would keep the whole buffer from ever being written.
    return value.replace("\x00", "\\x00")


class AuditLog:
    def __init__(self, db: Database, retention_days: int, max_rows: int) -> None:
        self._db = db
        self._buffer: list[dict[str, Any]] = []
        self._lock = threading.Lock()  # guards the buffer; record() never waits on a write
        self._writing = threading.Lock()
        self.retention = timedelta(days=retention_days)
        self.max_rows = max_rows
        self.dropped = 0

    def record(
        self,
        *,
        principal: Principal | None,
        client: str,
        operation: str,
        decision: str,
        status: int,
        object: str = "",
        tenant_pk: int | None = None,
        reason_code: str = "",
        reason: str = "",
    ) -> None:
        entry = {
            "at": utcnow(),
            "principal": principal.audit_name if principal else "-",
            "principal_tenant_pk": principal.tenant_pk if principal else None,
            "client": _text(client)[:64],
            "operation": _text(operation)[:80],
            "object": _text(redact(object))[:200],
            "tenant_pk": tenant_pk,
            "decision": decision,
            "status": status,
            "reason_code": reason_code[:40],
            "reason": _text(redact(reason))[:300],
        }
        with self._lock:
            if len(self._buffer) >= MAX_BUFFER:
                self.dropped += 1
                return
            self._buffer.append(entry)

    def flush(self) -> int:
        """Write what is buffered. One flush at a time, from taking the buffer to the commit, so
        a reader that flushes first (GET /api/v1/audit/) also waits for a flush already under way."""
        with self._writing:
            with self._lock:
                batch, self._buffer = self._buffer, []
            if batch:
                try:
                    with self._db.transaction() as session:
                        session.execute(insert(AuditEntry), batch)
                except Exception as exc:
                    if is_database_unavailable(exc):
                        # The database is away (or full): keep the entries for the next round, ahead
                        # of those recorded meanwhile, rather than lose them.
                        with self._lock:
                            room = max(0, MAX_BUFFER - len(self._buffer))
                            self.dropped += max(0, len(batch) - room)
                            self._buffer[:0] = batch[:room]
                    raise
            return len(batch)

    def enforce_retention(self) -> None:
        with self._db.transaction() as session:
            session.execute(delete(AuditEntry).where(AuditEntry.at < utcnow() - self.retention))
            count = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
            if count > self.max_rows:
                cutoff = session.scalar(
                    select(AuditEntry.pk).order_by(AuditEntry.pk.desc()).offset(self.max_rows).limit(1)
                )
                if cutoff is not None:
                    session.execute(delete(AuditEntry).where(AuditEntry.pk <= cutoff))
