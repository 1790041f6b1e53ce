"""GET /api/v1/audit/: system admins see all; a tenant admin sees its own tenant's entries."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from sqlalchemy import ColumnElement, func, or_, select
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from switchboard.access.dependencies import AuditCaller
from switchboard.access.principal import Principal
from switchboard.audit.models import AuditEntry
from switchboard.db.engine import Database
from switchboard.errors import BadRequest
from switchboard.pagination import DEFAULT_LIMIT, MAX_LIMIT
from switchboard.responses import errors, json_response
from switchboard.schemas import Page, Schema

router = APIRouter(prefix="/api/v1", tags=["audit"])


class AuditOut(Schema):
    id: int
    at: datetime
    principal: str
    client: str
    operation: str
    object: str
    decision: str
    status: int
    reason_code: str
    reason: str


@router.get("/audit/", response_model=Page[AuditOut], responses=errors(400, 401, 403))
async def read_audit(
    request: Request,
    principal: AuditCaller,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    principal_name: Annotated[str | None, Query(alias="principal", max_length=120)] = None,
    decision: Literal["allow", "deny", "fail"] | None = None,
) -> Response:
    """Newest first. Filters: since/until (ISO 8601), principal (prefix), decision."""
    audit = request.app.state.audit
    await run_in_threadpool(audit.flush)  # this worker's buffered entries first
    before = None
    if cursor:
        if not cursor.isdigit():
            raise BadRequest.field("cursor", "is not a cursor returned by this list")
        before = int(cursor)
    db: Database = request.app.state.db
    filters = _filters(principal, since, until, principal_name, decision)
    with db.transaction() as session:
        stmt = select(AuditEntry).where(*filters)
        total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        if before is not None:
            stmt = stmt.where(AuditEntry.pk < before)
        rows = list(session.scalars(stmt.order_by(AuditEntry.pk.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    items = [
        {
            "id": r.pk,
            "at": r.at.isoformat(),
            "principal": r.principal,
            "client": r.client,
            "operation": r.operation,
            "object": r.object,
            "decision": r.decision,
            "status": r.status,
            "reasonCode": r.reason_code,
            # A 404's reason may be about another tenant's objects: system administrators only.
            "reason": r.reason if principal.role == "system" or r.status != 404 else "",
        }
        for r in rows
    ]
    return json_response(
        {"items": items, "total": total, "nextCursor": str(rows[-1].pk) if more and rows else None}
    )


def _filters(
    principal: Principal,
    since: datetime | None,
    until: datetime | None,
    name: str | None,
    decision: str | None,
) -> list[ColumnElement[bool]]:
    filters: list[ColumnElement[bool]] = []
    if principal.role != "system":
        # Entries about this tenant's objects, or made by this tenant's accounts.
        filters.append(
            or_(
                AuditEntry.tenant_pk == principal.tenant_pk,
                AuditEntry.principal_tenant_pk == principal.tenant_pk,
            )
        )
    if since is not None:
        filters.append(AuditEntry.at >= since)
    if until is not None:
        filters.append(AuditEntry.at < until)
    if name:
        filters.append(AuditEntry.principal.startswith(name, autoescape=True))
    if decision:
        filters.append(AuditEntry.decision == decision)
    return filters
