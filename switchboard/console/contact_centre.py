"""Accounts | Team Management and campaign templates (the Details tab sets the Team, as in Noojee):
pages over the contact-centre services, so the console and the API cannot disagree."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from switchboard.access.policy import Area, Kind, may_manage, scope_params, target_in, visibility
from switchboard.audit.recording import audit_write
from switchboard.console import notices
from switchboard.console.forms import BLANK, Fields, Filled, Input, ShowAgain
from switchboard.console.nav import TEAMS, TEMPLATES, Section
from switchboard.console.pages import (
    checked,
    console_action,
    console_page,
    page,
    picked_tenant,
    refusal,
    tenant_in_view,
)
from switchboard.console.sessions import SignedIn
from switchboard.contact_centre import rosters, service
from switchboard.contact_centre.roster_schemas import OverrideCreate, RosterBody
from switchboard.contact_centre.schemas import MemberBody, TeamCreate, TemplateUpdate
from switchboard.directory.models import Tenant
from switchboard.errors import BadRequest, SwitchboardError
from switchboard.web.state import database_of

router = APIRouter(prefix="/console", include_in_schema=False)


def visible_tenants(session: Session, current: SignedIn) -> list[str]:
    """The tenants the account may pick from (a system account sees them all)."""
    stmt = (
        select(Tenant.tenant_id).where(visibility(current.principal, Kind.TENANT)).order_by(Tenant.tenant_key)
    )
    return list(session.scalars(stmt, scope_params(current.principal)))


# -- Team Management -------------------------------------------------------------------------------


TeamWork = Callable[[Session, SignedIn, dict[str, str]], int]  # returns the tenant's pk


async def _team_action(
    request: Request,
    work: TeamWork,
    status: int,
    obj: str,
    tenant: str,
    notice: str,
    form: tuple[str, Fields, str] | None = None,
) -> Response:
    """A Team Management form: `work` in a unit of work, audited, then back to the page with
    `notice`; refused, the page again with `form` (its name, its inputs, the input a conflict is
    about) as typed."""

    def again(current: SignedIn, filled: Filled) -> Response:
        return _teams_page(request, tenant, filled)

    shown = ShowAgain(form[0], form[1], again, form[2]) if form else None
    done = await console_action(request, work, shown, Area.ACCOUNTS)
    if isinstance(done, Response):
        return done
    audit_write(request, status, obj, done[1])
    return notices.redirect(f"/console/teams/?{urlencode({'tenant': tenant})}", done[0], notice)


def tenant_page(
    request: Request,
    template_name: str,
    tenant: str,
    build: Callable[[Session, SignedIn, Tenant], dict[str, Any]],
    section: Section,
    filled: Filled = BLANK,
) -> Response:
    """A page about one tenant's objects, with the tenant picker; refusals as pages. The section's
    area is the API's for those objects (a principal the API refuses there is refused here too, and
    the navigation does not offer the page)."""
    current = console_page(request, section.area)
    if isinstance(current, Response):
        return current
    try:
        with database_of(request).transaction() as session:
            chosen = tenant_in_view(session, current, tenant or None)
            tenants = visible_tenants(session, current)
            context = build(session, current, chosen) if chosen is not None else {}
    except SwitchboardError as error:
        return refusal(request, current, error)
    tenant_id = chosen.tenant_id if chosen else None
    return page(
        request, template_name, current, tenant_id=tenant_id, tenants=tenants, filled=filled, **context
    )


TEAM_FIELDS = {"name": Input("name", "Name")}
MEMBER_FIELDS = {"username": Input("username", "Account"), "role": Input("role", "Role")}
MAX_ROSTER_ROWS = 500  # a team's members on one page
ROSTER_FIELDS = {
    "members": Input("", "Roster", "row"),
    **{
        f"position-{i}": Input(f"position-{i}", f"Stack position, row {i + 1}")
        for i in range(MAX_ROSTER_ROWS)
    },
    **{f"shifts-{i}": Input(f"shifts-{i}", f"Weekly shifts, row {i + 1}") for i in range(MAX_ROSTER_ROWS)},
}
OVERRIDE_FIELDS = {
    "username": Input("username", "Member"),
    "start": Input("start", "From"),
    "end": Input("end", "To"),
    "onShift": Input("onShift", "Shift"),
    "note": Input("note", "Note"),
}


def _may_manage_contact_centre(current: SignedIn, tenant: Tenant) -> bool:
    """The rule the team, roster and template services enforce on every change (tenant_to_manage)."""
    return may_manage(current.principal, target_in(Kind.CONTACT_CENTRE, tenant)).allowed


@router.get("/teams/")
def teams_page(request: Request, tenant: str = "") -> Response:
    return _teams_page(request, tenant, BLANK)


def _teams_page(request: Request, tenant: str, filled: Filled) -> Response:
    """Administrators manage the tenant's teams; anyone else sees the teams it is in, and no form
    it could not submit."""

    def build(session: Session, current: SignedIn, chosen: Tenant) -> dict[str, Any]:
        _, rows = rosters.roster_teams(session, current.principal, chosen.tenant_id)
        return {
            "teams": [
                {
                    **service.team_view(session, team, chosen.tenant_id),
                    "roster": rosters.roster_view(session, chosen, team),
                }
                for team in rows
            ],
            "may_manage": _may_manage_contact_centre(current, chosen),
        }

    return tenant_page(request, "teams.html", tenant, build, TEAMS, filled)


@router.post("/teams/")
async def create_team(request: Request, tenant: str) -> Response:
    def work(session: Session, current: SignedIn, form: dict[str, str]) -> int:
        _, team = service.create_team(
            session, current.principal, tenant, checked(TeamCreate, {"name": form.get("name", "")})
        )
        return team.tenant_pk

    words = "Team created."
    return await _team_action(
        request, work, 201, f"team:{tenant}", tenant, words, ("new-team", TEAM_FIELDS, "name")
    )


@router.post("/teams/{name}/members")
async def add_member(request: Request, tenant: str, name: str) -> Response:
    """Adds an account of the tenant; its keys see the team's campaigns at once."""

    def work(session: Session, current: SignedIn, form: dict[str, str]) -> int:
        body = checked(MemberBody, {"username": form.get("username", ""), "role": form.get("role", "agent")})
        return service.add_member(session, current.principal, tenant, name, body).tenant_pk

    words = f"Added to team '{name}'."
    form = (f"member-{name}", MEMBER_FIELDS, "username")
    return await _team_action(request, work, 200, f"team:{tenant}/{name}+member", tenant, words, form)


@router.post("/teams/{name}/members/{username}/remove")
async def remove_member(request: Request, tenant: str, name: str, username: str) -> Response:
    def work(session: Session, current: SignedIn, form: dict[str, str]) -> int:
        service.remove_member(session, current.principal, tenant, name, username)
        return service.tenant_to_manage(session, current.principal, tenant).pk

    words = f"{username} removed from team '{name}'."
    return await _team_action(request, work, 204, f"team:{tenant}/{name}-{username}", tenant, words)


# -- rosters (on the Team Management page) ----------------------------------------------------------


def _shifts(text: str, field: str) -> list[dict[str, str]]:
    """'mon 09:00-17:00, tue 09:00-13:00' -> shifts (the schema checks the values)."""
    shifts = []
    for part in filter(None, (piece.strip() for piece in text.replace(";", ",").split(","))):
        day, _, hours = part.partition(" ")
        start, _, end = hours.strip().partition("-")
        if not (day and start and end):
            raise BadRequest.field(field, f"{part!r}: write each shift as 'mon 09:00-17:00'")
        shifts.append({"day": day.lower()[:3], "start": start.strip(), "end": end.strip()})
    return shifts


def _roster_form(form: dict[str, str]) -> RosterBody:
    """Row i: member-i (username), position-i (stack position, blank: none) and shifts-i. Those
    with a position or shifts are on the roster, by position (blank last, in page order)."""
    rows = []
    index = 0
    while f"member-{index}" in form:
        position = form.get(f"position-{index}", "").strip()
        shifts = _shifts(form.get(f"shifts-{index}", ""), f"shifts-{index}")
        if position and not position.isdigit():
            raise BadRequest.field(f"position-{index}", "a whole number, or blank")
        if position or shifts:
            order = (0, int(position)) if position else (1, 0)
            rows.append((order, index, {"username": form[f"member-{index}"], "shifts": shifts}))
        index += 1
    rows.sort(key=lambda row: (row[0], row[1]))
    return checked(RosterBody, {"members": [member for _, _, member in rows]})


@router.post("/teams/{name}/roster")
async def save_roster(request: Request, tenant: str, name: str) -> Response:
    """The weekly shifts and stack order, replaced as a whole (overrides stay)."""

    def work(session: Session, current: SignedIn, form: dict[str, str]) -> int:
        tenant_row, _ = rosters.replace_roster(session, current.principal, tenant, name, _roster_form(form))
        return tenant_row.pk

    words = f"Roster of '{name}' saved."
    form = (f"roster-{name}", ROSTER_FIELDS, "")
    return await _team_action(request, work, 200, f"roster:{tenant}/{name}", tenant, words, form)


@router.post("/teams/{name}/roster/overrides")
async def add_override(request: Request, tenant: str, name: str) -> Response:
    """A one-off period on or off shift (times in the tenant's time zone)."""

    def work(session: Session, current: SignedIn, form: dict[str, str]) -> int:
        body = checked(
            OverrideCreate,
            {
                "username": form.get("username", ""),
                "start": form.get("start", ""),
                "end": form.get("end", ""),
                "onShift": form.get("onShift", "true") == "true",
                "note": form.get("note", ""),
            },
        )
        tenant_row, _ = rosters.add_override(session, current.principal, tenant, name, body)
        return tenant_row.pk

    words = f"Override added to the roster of '{name}'."
    form = (f"override-{name}", OVERRIDE_FIELDS, "")
    return await _team_action(request, work, 201, f"roster_override:{tenant}/{name}", tenant, words, form)


@router.post("/teams/{name}/roster/overrides/{override_id}/remove")
async def remove_override(request: Request, tenant: str, name: str, override_id: int) -> Response:
    def work(session: Session, current: SignedIn, form: dict[str, str]) -> int:
        return rosters.delete_override(session, current.principal, tenant, name, override_id).tenant_pk

    words = f"Override removed from the roster of '{name}'."
    obj = f"roster_override:{tenant}/{name}/{override_id}"
    return await _team_action(request, work, 204, obj, tenant, words)


# -- campaign templates ----------------------------------------------------------------------------


@router.get("/templates/")
def templates_page(request: Request, tenant: str = "") -> Response:
    def build(session: Session, current: SignedIn, chosen: Tenant) -> dict[str, Any]:
        _, rows = service.list_templates(session, current.principal, chosen.tenant_id)
        return {"templates": [service.template_view(session, row, chosen.tenant_id) for row in rows]}

    return tenant_page(request, "templates.html", tenant, build, TEMPLATES)


TEMPLATE_FIELDS = {"name": Input("name", "Name"), "team": Input("team", "Team")}


@router.get("/templates/{template_id}/")
def template_page(request: Request, template_id: int, tenant: str = "", tab: str = "details") -> Response:
    current = console_page(request, Area.CAMPAIGNS)
    if isinstance(current, Response):
        return current
    return _template_page(request, current, template_id, tenant, tab, BLANK)


def _template_page(
    request: Request, current: SignedIn, template_id: int, tenant: str, tab: str, filled: Filled
) -> Response:
    try:
        with database_of(request).transaction() as session:
            chosen = picked_tenant(session, current, tenant or None)
            row = service.find_template(session, current.principal, chosen, template_id)
            template = service.template_view(session, row, chosen.tenant_id)
            _, teams = service.list_teams(session, current.principal, chosen.tenant_id)
            team_names = [team.name for team in teams]
            _, campaigns = service.list_campaigns(session, current.principal, chosen.tenant_id, row.pk)
            own = [service.campaign_view(session, c, chosen.tenant_id) for c in campaigns]
            may_change = _may_manage_contact_centre(current, chosen)
    except SwitchboardError as error:
        return refusal(request, current, error)
    return page(
        request,
        "template.html",
        current,
        tenant_id=chosen.tenant_id,
        template=template,
        teams=team_names,
        campaigns=own,
        may_manage=may_change,
        tab="campaigns" if tab == "campaigns" else "details",
        filled=filled,
    )


@router.post("/templates/{template_id}/details")
async def save_details(request: Request, template_id: int, tenant: str) -> Response:
    """The Details tab: the template's name and Team (who sees its campaigns, at once)."""

    def work(session: Session, current: SignedIn, form: dict[str, str]) -> int:
        changes = checked(TemplateUpdate, {"name": form.get("name", ""), "team": form.get("team") or None})
        return service.update_template(session, current.principal, tenant, template_id, changes).tenant_pk

    def again(current: SignedIn, filled: Filled) -> Response:
        return _template_page(request, current, template_id, tenant, "details", filled)

    done = await console_action(
        request, work, ShowAgain("details", TEMPLATE_FIELDS, again, "name"), Area.CAMPAIGNS
    )
    if isinstance(done, Response):
        return done
    audit_write(request, 200, f"campaign_template:{tenant}/{template_id}", done[1])
    url = f"/console/templates/{template_id}/?tenant={quote(tenant)}"
    return notices.redirect(url, done[0], "Template saved.")
