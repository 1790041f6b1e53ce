"""GET /api/v1/audit/: system admins see all; a tenant admin sees its own tenant's entries."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from switchboard.access.dependencies import AuditCaller
from switchboard.audit import service
from switchboard.audit.service import AuditFilters, Decision
from switchboard.kit.pagination import DEFAULT_LIMIT, Limit
from switchboard.kit.schemas import Schema, page_of
from switchboard.web.responses import errors, json_response
from switchboard.web.state import services_of

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


AuditPage = page_of(AuditOut, "auditEntries")


@router.get("/audit/", response_model=AuditPage, responses=errors(400, 401, 403))
async def read_audit(
    request: Request,
    principal: AuditCaller,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    principal_name: Annotated[str | None, Query(alias="principal", max_length=120)] = None,
    decision: Decision | None = None,
) -> Response:
    """Newest first. Filters: since/until (ISO 8601), principal (prefix), decision."""
    audit = services_of(request).audit
    await run_in_threadpool(audit.flush)  # this worker's buffered entries first
    db = services_of(request).db
    filters = AuditFilters(since, until, principal_name, decision)
    with db.transaction() as session:
        found = service.read_audit(session, principal, filters, cursor, limit)
    return json_response(AuditPage.body(found.items, found.total, found.next_cursor))
