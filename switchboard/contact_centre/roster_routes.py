"""A team's roster (/tenants/{t}/teams/{name}/roster/): thin adapters over contact_centre.rosters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from switchboard.access.dependencies import AccountsCaller
from switchboard.audit.recording import audit_write
from switchboard.contact_centre import rosters
from switchboard.contact_centre.roster_schemas import (
    OnShiftOut,
    OverrideCreate,
    OverrideOut,
    RosterBody,
    RosterOut,
)
from switchboard.kit.schemas import RowId, page_of
from switchboard.web.responses import errors, json_response, no_content
from switchboard.web.state import database_of

router = APIRouter(prefix="/api/v1/tenants/{tenant_id}/teams/{name}/roster", tags=["contact centre"])
READ = errors(401, 403, 404)
WRITE = errors(400, 401, 403, 404)

OverridePage = page_of(OverrideOut, "overrides")


@router.get("/", response_model=RosterOut, responses=READ)
def get_roster(request: Request, principal: AccountsCaller, tenant_id: str, name: str) -> Response:
    """The weekly shifts in stack order (times in the tenant's time zone) and the overrides."""
    with database_of(request).transaction() as session:
        tenant, team = rosters.visible_team(session, principal, tenant_id, name)
        return json_response(rosters.roster_view(session, tenant, team))


@router.put("/", response_model=RosterOut, responses=WRITE)
def put_roster(
    request: Request, principal: AccountsCaller, tenant_id: str, name: str, body: RosterBody
) -> Response:
    """Replaces the weekly shifts and the stack order (the order of `members`); overrides stay."""
    with database_of(request).transaction() as session:
        tenant, team = rosters.replace_roster(session, principal, tenant_id, name, body)
        view = rosters.roster_view(session, tenant, team)
    audit_write(request, 200, f"roster:{tenant_id}/{name}", tenant.pk)
    return json_response(view)


@router.get("/on-shift/", response_model=OnShiftOut, responses=errors(400, 401, 403, 404))
def get_on_shift(
    request: Request, principal: AccountsCaller, tenant_id: str, name: str, at: datetime | None = None
) -> Response:
    """Who is on shift now (or `at`; without an offset, in the tenant's time zone), in stack
    order; the team's members may ask too."""
    with database_of(request).transaction() as session:
        team = rosters.roster_team(session, principal, name, tenant_id)
        tenant, moment, members = rosters.on_shift(session, team, at)
        body: dict[str, Any] = {
            "tenantId": tenant.tenant_id,
            "team": team.name,
            "at": moment.isoformat(),
            "members": [
                {
                    "id": m.account_pk,
                    "username": m.username,
                    "extension": m.extension,
                    "phoneNumber": m.phone_number,
                    "mobileNumber": m.mobile_number,
                    "email": m.email,
                    "stackPosition": m.stack_position,
                }
                for m in members
            ],
        }
    return json_response(body)


@router.get("/overrides/", response_model=OverridePage, responses=READ)
def list_overrides(request: Request, principal: AccountsCaller, tenant_id: str, name: str) -> Response:
    """The team's overrides by start, in one page (nextCursor always null): they are part of its
    roster, which shows them all."""
    with database_of(request).transaction() as session:
        overrides = rosters.overrides_of(session, principal, tenant_id, name)
    return json_response(OverridePage.body(overrides, len(overrides), None))


@router.post("/overrides/", status_code=201, response_model=OverrideOut, responses=WRITE)
def create_override(
    request: Request, principal: AccountsCaller, tenant_id: str, name: str, body: OverrideCreate
) -> Response:
    """A one-off period on (onShift true) or off shift; it wins over the weekly pattern."""
    with database_of(request).transaction() as session:
        tenant, override = rosters.add_override(session, principal, tenant_id, name, body)
        view = rosters.override_view(override, body.username, rosters.time_zone(tenant))
    audit_write(request, 201, f"roster_override:{tenant_id}/{name}/{override.pk}", tenant.pk)
    return json_response(view, 201)


@router.delete("/overrides/{override_id}/", status_code=204, responses=READ)
def delete_override(
    request: Request, principal: AccountsCaller, tenant_id: str, name: str, override_id: RowId
) -> Response:
    with database_of(request).transaction() as session:
        team = rosters.delete_override(session, principal, tenant_id, name, override_id)
    audit_write(request, 204, f"roster_override:{tenant_id}/{name}/{override_id}", team.tenant_pk)
    return no_content()
