"""The tenant's do-not-call list: administrators keep it; every lead insert and update checks it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from switchboard.access.principal import Principal
from switchboard.contact_centre.models import DoNotCall
from switchboard.contact_centre.phones import normalise_phone
from switchboard.contact_centre.service import tenant_to_manage
from switchboard.errors import BadRequest, NotFound
from switchboard.kit.pagination import PREFIX_END, PageRequest
from switchboard.kit.writes import flush_or_conflict


def number_or_400(raw: str, field: str = "number") -> str:
    try:
        return normalise_phone(raw)
    except ValueError as exc:
        raise BadRequest.field(field, str(exc)) from None


def entry_view(entry: DoNotCall) -> dict[str, Any]:
    return {"number": entry.number, "note": entry.note, "createdAt": entry.created_at.isoformat()}


def list_entries(
    session: Session, principal: Principal, tenant_id: str, page: PageRequest
) -> tuple[list[DoNotCall], int]:
    """A page of the list by number (`idPrefix` filters on the normalised number's start)."""
    # Reading the list reveals numbers: administrators only, like changing it.
    tenant = tenant_to_manage(session, principal, tenant_id)
    stmt = select(DoNotCall).where(DoNotCall.tenant_pk == tenant.pk)
    if page.id_prefix is not None:
        prefix = page.id_prefix.replace(" ", "")
        stmt = stmt.where(DoNotCall.number >= prefix, DoNotCall.number < prefix + PREFIX_END)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    if page.after is not None:
        stmt = stmt.where(DoNotCall.number > page.after)
    rows = list(session.scalars(stmt.order_by(DoNotCall.number).limit(page.limit + 1)))
    return rows, total


def add_entry(
    session: Session, principal: Principal, tenant_id: str, number: str, note: str | None
) -> DoNotCall:
    tenant = tenant_to_manage(session, principal, tenant_id)
    entry = DoNotCall(tenant_pk=tenant.pk, number=number_or_400(number), note=note)
    session.add(entry)
    flush_or_conflict(session, f"{entry.number} is already on the do-not-call list")
    return entry


def remove_entry(session: Session, principal: Principal, tenant_id: str, number: str) -> str:
    tenant = tenant_to_manage(session, principal, tenant_id)
    normal = number_or_400(number)
    entry = session.get(DoNotCall, (tenant.pk, normal))
    if entry is None:
        raise NotFound(f"{normal} is not on the do-not-call list")
    session.delete(entry)
    session.flush()
    return normal
