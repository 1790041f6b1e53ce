"""Allocations: named batches of a campaign's leads, seen by whoever sees the campaign."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from switchboard.access.policy import Kind, scope_params, visibility
from switchboard.access.principal import Principal
from switchboard.contact_centre.models import DEFAULT_ALLOCATION, Allocation, Lead
from switchboard.contact_centre.service import find_campaign
from switchboard.db.base import utcnow
from switchboard.directory.models import Tenant
from switchboard.errors import BadRequest, NotFound

MAX_NAME = 80


def allocation_name(raw: str | None, field: str = "allocationName") -> str | None:
    """The name as given (None: the campaign's default); 400 when it cannot be one."""
    if raw is None:
        return None
    name = raw.strip()
    if not name or len(name) > MAX_NAME:
        raise BadRequest.field(field, f"must be 1 to {MAX_NAME} characters")
    return name


def allocation_for_write(session: Session, campaign_pk: int, name: str | None) -> int:
    """The allocation new leads go to, created when first named (the default one too). Called
    with the campaign's writers taking turns (leads.campaign_context's lock), so two requests
    cannot both create it."""
    name = name or DEFAULT_ALLOCATION
    key = name.lower()
    found = session.scalar(
        select(Allocation.pk).where(Allocation.campaign_pk == campaign_pk, Allocation.name_key == key)
    )
    if found is not None:
        return found
    allocation = Allocation(campaign_pk=campaign_pk, name=name, name_key=key, created_at=utcnow())
    session.add(allocation)
    session.flush()
    return allocation.pk


def _with_counts() -> Select[Allocation, Any]:
    counts = (
        select(Lead.allocation_pk, func.count().label("leads"))
        .where(Lead.allocation_pk.is_not(None))
        .group_by(Lead.allocation_pk)
        .subquery()
    )
    return select(Allocation, func.coalesce(counts.c.leads, 0)).outerjoin(
        counts, counts.c.allocation_pk == Allocation.pk
    )


def allocation_view(allocation: Allocation, lead_count: int) -> dict[str, Any]:
    return {
        "id": allocation.pk,
        "campaignId": allocation.campaign_pk,
        "name": allocation.name,
        "leadCount": lead_count,
        "createdAt": allocation.created_at.isoformat(),
    }


def campaign_allocations(
    session: Session, principal: Principal, tenant: Tenant, campaign_id: int, after: int | None, limit: int
) -> tuple[list[tuple[Allocation, int]], int]:
    """A page (`limit` + 1 rows) of a visible campaign's allocations by id, and how many it has."""
    campaign = find_campaign(session, principal, tenant, campaign_id)  # 404 like the campaign
    total = session.scalar(select(func.count()).where(Allocation.campaign_pk == campaign.pk)) or 0
    stmt = _with_counts().where(Allocation.campaign_pk == campaign.pk)
    if after is not None:
        stmt = stmt.where(Allocation.pk > after)
    rows = session.execute(stmt.order_by(Allocation.pk).limit(limit + 1))
    return [(row[0], int(row[1])) for row in rows], total


def find_allocation(
    session: Session, principal: Principal, tenant: Tenant, campaign_id: int, allocation_id: int
) -> tuple[Allocation, int]:
    campaign = find_campaign(session, principal, tenant, campaign_id)
    row = session.execute(
        _with_counts().where(Allocation.campaign_pk == campaign.pk, Allocation.pk == allocation_id)
    ).first()
    if row is None:
        raise NotFound(f"allocation {allocation_id} of campaign {campaign_id} not found or not visible")
    return row[0], int(row[1])


def visible_allocations(
    session: Session, principal: Principal, campaign_id: int | None
) -> list[tuple[Allocation, int]]:
    """Every allocation the principal may see (its campaigns'), of one campaign when given, by id."""
    stmt = _with_counts().where(visibility(principal, Kind.ALLOCATION)).order_by(Allocation.pk)
    if campaign_id is not None:
        stmt = stmt.where(Allocation.campaign_pk == campaign_id)
    return [(row[0], int(row[1])) for row in session.execute(stmt, scope_params(principal))]
