"""The audit log with filters, over the audit service the API uses (switchboard.audit.service)."""

from __future__ import annotations

import ast
import re
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from pydantic import StringConstraints
from starlette.responses import Response

from switchboard.access.policy import Area, require_area
from switchboard.audit.service import DECISIONS, AuditFilters, Decision, read_audit
from switchboard.console.pages import checked, console_page, page, refusal, tenant_in_view
from switchboard.errors import BadRequest, SwitchboardError
from switchboard.kit.pagination import DEFAULT_LIMIT
from switchboard.kit.schemas import Schema
from switchboard.web.state import database_of, services_of

router = APIRouter(prefix="/console", include_in_schema=False)


class AuditQuery(Schema):
    """GET /api/v1/audit/'s query parameters, from the filter form."""

    since: datetime | None = None
    until: datetime | None = None
    principal: Annotated[str, StringConstraints(max_length=120)] | None = None
    decision: Decision | None = None
    cursor: Annotated[str, StringConstraints(max_length=40)] | None = None


# A mapping written as Python once wrote it (reasons recorded before they were sentences).
_MAPPING = re.compile(r"\{[^{}]*\}")


def _mapping_in_words(match: re.Match[str]) -> str:
    try:
        value = ast.literal_eval(match.group())  # literals only: nothing from the text runs
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return match.group()
    if not isinstance(value, dict):
        return match.group()
    return ", ".join(f"{key} {item!r}" for key, item in value.items() if item is not None) or "nothing"


def readable_reason(reason: str) -> str:
    """A reason as words: older entries may hold a Python mapping ({'tenant': 't1', 'group': None}),
    shown as "tenant 't1'"."""
    return _MAPPING.sub(_mapping_in_words, reason) if "{" in reason else reason


def _form_value(moment: datetime | None) -> str:
    """A time as a datetime-local field holds it: UTC, no zone."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") if moment else ""


@router.get("/audit/")
def audit_page(
    request: Request,
    since: str = "",
    until: str = "",
    principal: str = "",
    decision: str = "",
    cursor: str = "",
) -> Response:
    current = console_page(request)
    if isinstance(current, Response):
        return current
    typed = {"since": since, "until": until, "principal": principal, "decision": decision}
    try:
        require_area(current.principal, Area.AUDIT)
        query = checked(
            AuditQuery, {name: value for name, value in {**typed, "cursor": cursor}.items() if value.strip()}
        )
        audit = services_of(request).audit
        audit.flush()  # this worker's buffered entries first, as the API does
        filters = AuditFilters(query.since, query.until, query.principal, query.decision)
        with database_of(request).transaction() as session:
            found = read_audit(session, current.principal, filters, query.cursor, DEFAULT_LIMIT)
            tenant = tenant_in_view(session, current, None)
    except BadRequest as error:
        # A filter the API would refuse: the form again, the reason next to its field.
        first = (error.errors or [{"field": "form", "reason": error.detail}])[0]
        errors = {first["field"]: first["reason"]}
        return page(request, "audit.html", current, 400, values=typed, errors=errors, **_empty())
    except SwitchboardError as error:
        return refusal(request, current, error)
    values = {
        "since": _form_value(query.since),
        "until": _form_value(query.until),
        "principal": query.principal or "",
        "decision": query.decision or "",
    }
    kept = {name: value for name, value in values.items() if value}
    next_page = "?" + urlencode({**kept, "cursor": found.next_cursor}) if found.next_cursor else None
    return page(
        request,
        "audit.html",
        current,
        values=values,
        errors={},
        entries=[{**entry, "reason": readable_reason(entry["reason"] or "")} for entry in found.items],
        total=found.total,
        next_page=next_page,
        newest=("?" + urlencode(kept)) if query.cursor else None,
        tenant_id=tenant.tenant_id if tenant else None,
        decisions=DECISIONS,
    )


def _empty() -> dict[str, Any]:
    return {
        "entries": [],
        "total": 0,
        "next_page": None,
        "newest": None,
        "tenant_id": None,
        "decisions": DECISIONS,
    }
