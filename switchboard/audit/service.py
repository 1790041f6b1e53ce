"""Reading the audit log: which entries a principal may see, the filters, a page newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from switchboard.access.policy import Kind, may_read_not_found_reasons, scope_params, visibility
from switchboard.access.principal import Principal
from switchboard.audit.models import AuditEntry
from switchboard.errors import BadRequest
from switchboard.kit.pagination import is_number

Decision = Literal["allow", "deny", "fail"]
DECISIONS: tuple[Decision, ...] = ("allow", "deny", "fail")


@dataclass(frozen=True, slots=True)
class AuditFilters:
    since: datetime | None = None
    until: datetime | None = None
    principal_prefix: str | None = None
    decision: Decision | None = None


@dataclass(frozen=True, slots=True)
class AuditPage:
    items: list[dict[str, Any]]
    total: int
    next_cursor: str | None


def _conditions(principal: Principal, filters: AuditFilters) -> list[ColumnElement[bool]]:
    conditions = [visibility(principal, Kind.AUDIT_ENTRY)]
    if filters.since is not None:
        conditions.append(AuditEntry.at >= filters.since)
    if filters.until is not None:
        conditions.append(AuditEntry.at < filters.until)
    if filters.principal_prefix:
        conditions.append(AuditEntry.principal.startswith(filters.principal_prefix, autoescape=True))
    if filters.decision:
        conditions.append(AuditEntry.decision == filters.decision)
    return conditions


def entry_view(entry: AuditEntry, principal: Principal) -> dict[str, Any]:
    return {
        "id": entry.pk,
        "at": entry.at.isoformat(),
        "principal": entry.principal,
        "client": entry.client,
        "operation": entry.operation,
        "object": entry.object,
        "decision": entry.decision,
        "status": entry.status,
        "reasonCode": entry.reason_code,
        "reason": entry.reason if may_read_not_found_reasons(principal) or entry.status != 404 else "",
    }


def read_audit(
    session: Session, principal: Principal, filters: AuditFilters, cursor: str | None, limit: int
) -> AuditPage:
    """The entries the principal may see that match, newest first, `limit` after the cursor.
    The caller flushes the buffered entries first (AuditLog.flush) to read its own writes."""
    before = None
    if cursor:
        if not is_number(cursor):
            raise BadRequest.field("cursor", "is not a cursor returned by this list")
        before = int(cursor)
    stmt = select(AuditEntry).where(*_conditions(principal, filters))
    params = scope_params(principal)
    total = session.scalar(select(func.count()).select_from(stmt.subquery()), params) or 0
    if before is not None:
        stmt = stmt.where(AuditEntry.pk < before)
    rows = list(session.scalars(stmt.order_by(AuditEntry.pk.desc()).limit(limit + 1), params))
    more = len(rows) > limit
    rows = rows[:limit]
    return AuditPage(
        [entry_view(row, principal) for row in rows], total, str(rows[-1].pk) if more and rows else None
    )
