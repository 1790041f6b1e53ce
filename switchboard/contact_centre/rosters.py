"""Rosters: who of a team is on shift when. Services take a session and a principal, never commit.

A member is on shift at a moment when one of its weekly shifts (in the tenant's time zone) holds
it, unless an override covering the moment says otherwise; of several overrides, the latest made
wins. The stack is the team's order for taking calls: members placed by the roster first, then
the others by name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from switchboard.access.models import Account
from switchboard.access.policy import Kind, scope_params, visibility
from switchboard.access.principal import Principal
from switchboard.contact_centre.models import RosterOverride, RosterShift, Team, TeamMember
from switchboard.contact_centre.roster_schemas import DAYS, OverrideCreate, RosterBody, clock, minutes
from switchboard.contact_centre.service import find_team, tenant_to_manage
from switchboard.db.base import utcnow
from switchboard.directory.models import Tenant, User
from switchboard.directory.service import find_tenant
from switchboard.errors import BadRequest, NotFound
from switchboard.kit.zones import zone_named

# Where "now" comes from: tests set a fixed clock here rather than depend on the wall clock.
current_time: Callable[[], datetime] = utcnow


def time_zone(tenant: Tenant) -> tzinfo:
    """The tenant's zone, whose clock the weekly shifts follow."""
    return zone_named(tenant.time_zone)


@dataclass(frozen=True, slots=True)
class StackMember:
    account_pk: int
    username: str
    stack_position: int  # 1 = first, over the whole team
    placed: bool  # by the roster (else after those placed, by name)
    extension: str
    phone_number: str
    mobile_number: str
    email: str


def stack(session: Session, team: Team) -> list[StackMember]:
    """Every member of the team in stack order, with its linked end user's numbers ("" if none)."""
    rows = session.execute(
        select(
            TeamMember.account_pk,
            TeamMember.stack_position,
            Account.username,
            User.extension,
            User.phone_number,
            User.mobile_phone_number,
            User.email_address,
        )
        .join(Account, Account.pk == TeamMember.account_pk)
        .outerjoin(User, User.pk == Account.user_pk)
        .where(TeamMember.team_pk == team.pk)
    ).all()
    rows = sorted(
        rows,
        key=lambda row: (row.stack_position is None, row.stack_position or 0, row.username.lower()),
    )
    return [
        StackMember(
            account_pk=row.account_pk,
            username=row.username,
            stack_position=position,
            placed=row.stack_position is not None,
            extension=row.extension or "",
            phone_number=row.phone_number or "",
            mobile_number=row.mobile_phone_number or "",
            email=row.email_address or "",
        )
        for position, row in enumerate(rows, start=1)
    ]


# -- the roster (administrators; read as the team) --------------------------------------------------


def roster_view(session: Session, tenant: Tenant, team: Team) -> dict[str, Any]:
    zone = time_zone(tenant)
    members = stack(session, team)
    shifts: dict[int, list[dict[str, str]]] = {}
    for shift in session.scalars(
        select(RosterShift)
        .where(RosterShift.team_pk == team.pk)
        .order_by(RosterShift.weekday, RosterShift.start_minute, RosterShift.pk)
    ):
        shifts.setdefault(shift.account_pk, []).append(
            {"day": DAYS[shift.weekday], "start": clock(shift.start_minute), "end": clock(shift.end_minute)}
        )
    names = {member.account_pk: member.username for member in members}
    return {
        "tenantId": tenant.tenant_id,
        "team": team.name,
        "timeZone": tenant.time_zone or "UTC",
        "members": [
            {
                "username": member.username,
                "stackPosition": member.stack_position if member.placed else None,
                "shifts": shifts.get(member.account_pk, []),
            }
            for member in members
        ],
        "overrides": [
            override_view(override, names[override.account_pk], zone)
            for override in session.scalars(
                select(RosterOverride)
                .where(RosterOverride.team_pk == team.pk)
                .order_by(RosterOverride.starts_at, RosterOverride.pk)
            )
        ],
    }


def override_view(override: RosterOverride, username: str, zone: tzinfo) -> dict[str, Any]:
    return {
        "id": override.pk,
        "username": username,
        "start": override.starts_at.astimezone(zone).isoformat(),
        "end": override.ends_at.astimezone(zone).isoformat(),
        "onShift": override.on_shift,
        "note": override.note,
    }


def roster_teams(session: Session, principal: Principal, tenant_id: str) -> tuple[Tenant, list[Team]]:
    """The tenant's teams whose rosters the principal sees, by name: every team for its
    administrators, the teams it is in for anyone else (its supervisors and agents)."""
    tenant = find_tenant(session, principal, tenant_id)
    stmt = select(Team).where(Team.tenant_pk == tenant.pk, visibility(principal, Kind.ROSTER))
    return tenant, list(session.scalars(stmt.order_by(Team.name_key), scope_params(principal)))


def visible_team(session: Session, principal: Principal, tenant_id: str, name: str) -> tuple[Tenant, Team]:
    tenant = find_tenant(session, principal, tenant_id)
    return tenant, find_team(session, principal, tenant, name)


def _team_to_manage(session: Session, principal: Principal, tenant_id: str, name: str) -> tuple[Tenant, Team]:
    """As for team membership: the tenant's administrators (403), on a team they see (404)."""
    tenant = tenant_to_manage(session, principal, tenant_id)
    return tenant, find_team(session, principal, tenant, name)


def _member_pks(session: Session, team: Team) -> dict[str, int]:
    return {
        username.lower(): pk
        for username, pk in session.execute(
            select(Account.username, Account.pk)
            .join(TeamMember, TeamMember.account_pk == Account.pk)
            .where(TeamMember.team_pk == team.pk)
        )
    }


def replace_roster(
    session: Session, principal: Principal, tenant_id: str, name: str, body: RosterBody
) -> tuple[Tenant, Team]:
    """The weekly shifts and stack order, all at once (overrides are kept)."""
    tenant, team = _team_to_manage(session, principal, tenant_id, name)
    members = _member_pks(session, team)
    listed: list[int] = []
    for index, entry in enumerate(body.members):
        account_pk = members.get(entry.username.lower())
        if account_pk is None:
            raise BadRequest.field(f"members[{index}].username", "not a member of this team")
        if account_pk in listed:
            raise BadRequest.field(f"members[{index}].username", "listed twice")
        listed.append(account_pk)
    session.execute(delete(RosterShift).where(RosterShift.team_pk == team.pk))
    positions = {account_pk: position for position, account_pk in enumerate(listed, start=1)}
    for member in session.scalars(select(TeamMember).where(TeamMember.team_pk == team.pk)):
        member.stack_position = positions.get(member.account_pk)
    for account_pk, entry in zip(listed, body.members, strict=True):
        session.add_all(
            RosterShift(
                team_pk=team.pk,
                account_pk=account_pk,
                weekday=DAYS.index(shift.day),
                start_minute=minutes(shift.start),
                end_minute=minutes(shift.end),
            )
            for shift in entry.shifts
        )
    session.flush()
    return tenant, team


def _aware(value: datetime, zone: tzinfo) -> datetime:
    return value.replace(tzinfo=zone) if value.tzinfo is None else value


def add_override(
    session: Session, principal: Principal, tenant_id: str, name: str, body: OverrideCreate
) -> tuple[Tenant, RosterOverride]:
    tenant, team = _team_to_manage(session, principal, tenant_id, name)
    account_pk = _member_pks(session, team).get(body.username.lower())
    if account_pk is None:
        raise BadRequest.field("username", "not a member of this team")
    zone = time_zone(tenant)
    starts_at, ends_at = _aware(body.start, zone), _aware(body.end, zone)
    if ends_at <= starts_at:
        raise BadRequest.field("end", "must be after start")
    override = RosterOverride(
        team_pk=team.pk,
        account_pk=account_pk,
        starts_at=starts_at,
        ends_at=ends_at,
        on_shift=body.on_shift,
        note=body.note,
    )
    session.add(override)
    session.flush()
    return tenant, override


def overrides_of(session: Session, principal: Principal, tenant_id: str, name: str) -> list[dict[str, Any]]:
    tenant, team = visible_team(session, principal, tenant_id, name)
    overrides: list[dict[str, Any]] = roster_view(session, tenant, team)["overrides"]
    return overrides


def delete_override(
    session: Session, principal: Principal, tenant_id: str, name: str, override_id: int
) -> Team:
    _, team = _team_to_manage(session, principal, tenant_id, name)
    override = session.scalar(
        select(RosterOverride).where(RosterOverride.pk == override_id, RosterOverride.team_pk == team.pk)
    )
    if override is None:
        raise NotFound(f"override {override_id} not found")
    session.delete(override)
    session.flush()
    return team


# -- who is on shift (the team's members and administrators; Noojee's getActiveRosters) -------------


def roster_team(session: Session, principal: Principal, name: str, tenant_id: str | None) -> Team:
    """The team by name among those whose roster the principal sees (in one tenant, when named).
    A name in several visible tenants (the system's global key) must name the tenant."""
    stmt = select(Team).where(Team.name_key == name.lower(), visibility(principal, Kind.ROSTER))
    if tenant_id is not None:
        stmt = stmt.join(Tenant, Tenant.pk == Team.tenant_pk).where(Tenant.tenant_key == tenant_id.lower())
    teams = list(session.scalars(stmt.order_by(Team.pk).limit(2), scope_params(principal)))
    if not teams:
        raise NotFound(f"team {name!r} not found or not visible")
    if len(teams) > 1:
        raise BadRequest.field("tenantId", f"team {name!r} exists in several tenants: name the tenant")
    return teams[0]


def on_shift(
    session: Session, team: Team, at: datetime | None = None
) -> tuple[Tenant, datetime, list[StackMember]]:
    """The members on shift at `at` (default: now; without an offset, in the tenant's time zone),
    in stack order."""
    tenant = session.get_one(Tenant, team.tenant_pk)
    zone = time_zone(tenant)
    at = current_time() if at is None else _aware(at, zone)
    local = at.astimezone(zone)
    minute = local.hour * 60 + local.minute
    on = set(
        session.scalars(
            select(RosterShift.account_pk).where(
                RosterShift.team_pk == team.pk,
                RosterShift.weekday == local.weekday(),
                RosterShift.start_minute <= minute,
                RosterShift.end_minute > minute,
            )
        )
    )
    overrides = session.execute(
        select(RosterOverride.account_pk, RosterOverride.on_shift)
        .where(RosterOverride.team_pk == team.pk, RosterOverride.starts_at <= at, RosterOverride.ends_at > at)
        .order_by(RosterOverride.pk)
    )
    for account_pk, is_on in overrides:  # later overrides win
        if is_on:
            on.add(account_pk)
        else:
            on.discard(account_pk)
    return tenant, at, [member for member in stack(session, team) if member.account_pk in on]
