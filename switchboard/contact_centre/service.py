"""Teams, campaign templates and campaigns. Services take a session and a principal, never commit.

Visibility comes from the policy (a template's team; campaigns follow their template); changes
are for system and tenant administrators.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from switchboard.access.models import Account
from switchboard.access.policy import (
    Kind,
    first_visible,
    require_manage,
    scope_params,
    target_in,
    visibility,
)
from switchboard.access.principal import Principal
from switchboard.contact_centre.models import Campaign, CampaignTemplate, Team, TeamMember
from switchboard.contact_centre.schemas import (
    CampaignCreate,
    CampaignUpdate,
    MemberBody,
    TeamCreate,
    TemplateCreate,
    TemplateUpdate,
)
from switchboard.db.keyset import keyset_page
from switchboard.directory.models import Tenant
from switchboard.directory.service import find_tenant
from switchboard.errors import BadRequest, NotFound
from switchboard.kit.writes import changed_fields, flush_or_conflict, stored_json


def tenant_to_manage(session: Session, principal: Principal, tenant_id: str) -> Tenant:
    """The tenant, if visible (404) and its contact centre the principal's to change (403)."""
    tenant = find_tenant(session, principal, tenant_id)
    require_manage(principal, target_in(Kind.CONTACT_CENTRE, tenant))
    return tenant


# -- teams -----------------------------------------------------------------------------------------


def find_team(session: Session, principal: Principal, tenant: Tenant, name: str) -> Team:
    team = first_visible(
        session,
        principal,
        Kind.TEAM,
        select(Team).where(Team.tenant_pk == tenant.pk, Team.name_key == name.lower()),
    )
    if team is None:
        raise NotFound(f"team {name!r} not found or not visible")
    return team


def team_view(session: Session, team: Team, tenant_id: str) -> dict[str, Any]:
    members = session.execute(
        select(Account.username, TeamMember.role)
        .join(TeamMember, TeamMember.account_pk == Account.pk)
        .where(TeamMember.team_pk == team.pk)
        .order_by(Account.username_key)
    )
    return {
        "id": team.pk,
        "tenantId": tenant_id,
        "name": team.name,
        "members": [{"username": username, "role": role} for username, role in members],
    }


def _visible_teams(principal: Principal, tenant: Tenant) -> Select[Team]:
    return select(Team).where(Team.tenant_pk == tenant.pk, visibility(principal, Kind.TEAM))


def list_teams(session: Session, principal: Principal, tenant_id: str) -> tuple[Tenant, list[Team]]:
    tenant = find_tenant(session, principal, tenant_id)
    stmt = _visible_teams(principal, tenant).order_by(Team.name_key)
    return tenant, list(session.scalars(stmt, scope_params(principal)))


def team_page(
    session: Session, principal: Principal, tenant_id: str, after: str | None, limit: int
) -> tuple[Tenant, list[Team], int]:
    """A page of the tenant's visible teams by name (see keyset_page), and how many there are."""
    tenant = find_tenant(session, principal, tenant_id)
    rows, total = keyset_page(
        session, _visible_teams(principal, tenant), Team.name_key, after, limit, scope_params(principal)
    )
    return tenant, rows, total


def create_team(
    session: Session, principal: Principal, tenant_id: str, data: TeamCreate
) -> tuple[Tenant, Team]:
    tenant = tenant_to_manage(session, principal, tenant_id)
    team = Team(tenant_pk=tenant.pk, name=data.name, name_key=data.name.lower())
    session.add(team)
    flush_or_conflict(session, f"team {data.name!r} already exists")
    return tenant, team


def delete_team(session: Session, principal: Principal, tenant_id: str, name: str) -> None:
    tenant = tenant_to_manage(session, principal, tenant_id)
    session.delete(find_team(session, principal, tenant, name))
    session.flush()


def add_member(session: Session, principal: Principal, tenant_id: str, name: str, data: MemberBody) -> Team:
    """Membership decides campaign visibility in the same query that fetches: effective at once."""
    tenant = tenant_to_manage(session, principal, tenant_id)
    team = find_team(session, principal, tenant, name)
    account = session.scalar(
        select(Account).where(Account.username_key == data.username.lower(), Account.tenant_pk == tenant.pk)
    )
    if account is None:
        raise BadRequest.field("username", "no such account in this tenant")
    member = session.get(TeamMember, (team.pk, account.pk))
    if member is None:
        session.add(TeamMember(team_pk=team.pk, account_pk=account.pk, role=data.role))
    else:
        member.role = data.role
    session.flush()
    return team


def remove_member(session: Session, principal: Principal, tenant_id: str, name: str, username: str) -> None:
    tenant = tenant_to_manage(session, principal, tenant_id)
    team = find_team(session, principal, tenant, name)
    account_pk = session.scalar(
        select(Account.pk).where(Account.username_key == username.lower(), Account.tenant_pk == tenant.pk)
    )
    member = session.get(TeamMember, (team.pk, account_pk)) if account_pk else None
    if member is None:
        raise NotFound(f"{username!r} is not a member of team {name!r}")
    session.delete(member)
    session.flush()


# -- campaign templates ----------------------------------------------------------------------------


def find_template(
    session: Session, principal: Principal, tenant: Tenant, template_id: int
) -> CampaignTemplate:
    template = first_visible(
        session,
        principal,
        Kind.CAMPAIGN_TEMPLATE,
        select(CampaignTemplate).where(
            CampaignTemplate.tenant_pk == tenant.pk, CampaignTemplate.pk == template_id
        ),
    )
    if template is None:
        raise NotFound(f"template {template_id} not found or not visible")
    return template


def _team_pk(session: Session, tenant: Tenant, name: str | None) -> int | None:
    if name is None:
        return None
    team_pk = session.scalar(
        select(Team.pk).where(Team.tenant_pk == tenant.pk, Team.name_key == name.lower())
    )
    if team_pk is None:
        raise BadRequest.field("team", "no such team in this tenant")
    return team_pk


_TEMPLATE_COLUMNS = ("dial_mode", "dispositions", "lead_fields", "contact_hours")


def create_template(
    session: Session, principal: Principal, tenant_id: str, data: TemplateCreate
) -> CampaignTemplate:
    tenant = tenant_to_manage(session, principal, tenant_id)
    template = CampaignTemplate(
        tenant_pk=tenant.pk,
        name=data.name,
        name_key=data.name.lower(),
        team_pk=_team_pk(session, tenant, data.team),
    )
    for column in _TEMPLATE_COLUMNS:
        setattr(template, column, stored_json(getattr(data, column)))
    session.add(template)
    flush_or_conflict(session, f"template {data.name!r} already exists")
    return template


def update_template(
    session: Session, principal: Principal, tenant_id: str, template_id: int, changes: TemplateUpdate
) -> CampaignTemplate:
    tenant = tenant_to_manage(session, principal, tenant_id)
    template = find_template(session, principal, tenant, template_id)
    fields = changed_fields(changes, frozenset({"team"}))
    if "team" in fields:
        template.team_pk = _team_pk(session, tenant, changes.team)
    if changes.name is not None:
        template.name = changes.name
        template.name_key = template.name.lower()
    for column in fields.intersection(_TEMPLATE_COLUMNS):
        setattr(template, column, stored_json(getattr(changes, column)))
    flush_or_conflict(session, f"template {template.name!r} already exists")
    return template


def template_view(session: Session, template: CampaignTemplate, tenant_id: str) -> dict[str, Any]:
    team = session.get(Team, template.team_pk) if template.team_pk else None
    return {
        "id": template.pk,
        "tenantId": tenant_id,
        "name": template.name,
        "team": team.name if team else None,
        "dialMode": template.dial_mode,
        "dispositions": template.dispositions,
        "leadFields": template.lead_fields,
        "contactHours": template.contact_hours,
    }


def _templates_visible(principal: Principal, tenant_pk: int | None) -> Select[CampaignTemplate]:
    stmt = select(CampaignTemplate).where(visibility(principal, Kind.CAMPAIGN_TEMPLATE))
    if tenant_pk is not None:
        stmt = stmt.where(CampaignTemplate.tenant_pk == tenant_pk)
    return stmt


def visible_templates(
    session: Session, principal: Principal, tenant_pk: int | None = None
) -> list[CampaignTemplate]:
    """Every template the principal may see (in one tenant, when given), by id."""
    stmt = _templates_visible(principal, tenant_pk).order_by(CampaignTemplate.pk)
    return list(session.scalars(stmt, scope_params(principal)))


def list_templates(
    session: Session, principal: Principal, tenant_id: str
) -> tuple[Tenant, list[CampaignTemplate]]:
    tenant = find_tenant(session, principal, tenant_id)
    return tenant, visible_templates(session, principal, tenant.pk)


def template_page(
    session: Session, principal: Principal, tenant_id: str, after: int | None, limit: int
) -> tuple[Tenant, list[CampaignTemplate], int]:
    """A page of the tenant's visible templates by id (see keyset_page), and how many there are."""
    tenant = find_tenant(session, principal, tenant_id)
    stmt = _templates_visible(principal, tenant.pk)
    rows, total = keyset_page(session, stmt, CampaignTemplate.pk, after, limit, scope_params(principal))
    return tenant, rows, total


# -- campaigns -------------------------------------------------------------------------------------


def find_campaign(
    session: Session, principal: Principal, tenant: Tenant | None, campaign_id: int
) -> Campaign:
    """A visible campaign, of the tenant when given (Noojee's methods name the campaign alone)."""
    stmt = select(Campaign).where(Campaign.pk == campaign_id)
    if tenant is not None:
        stmt = stmt.where(Campaign.tenant_pk == tenant.pk)
    campaign = first_visible(session, principal, Kind.CAMPAIGN, stmt)
    if campaign is None:
        raise NotFound(f"campaign {campaign_id} not found or not visible")
    return campaign


def create_campaign(session: Session, principal: Principal, tenant_id: str, data: CampaignCreate) -> Campaign:
    tenant = tenant_to_manage(session, principal, tenant_id)
    try:
        template = find_template(session, principal, tenant, data.template_id)
    except NotFound as exc:
        raise BadRequest.field("templateId", "no such template in this tenant") from exc
    campaign = Campaign(
        tenant_pk=tenant.pk,
        template_pk=template.pk,
        name=data.name,
        name_key=data.name.lower(),
        status=data.status,
    )
    session.add(campaign)
    flush_or_conflict(session, f"campaign {data.name!r} already exists")
    campaigns_changed(session, template.pk)
    return campaign


def update_campaign(
    session: Session, principal: Principal, tenant_id: str, campaign_id: int, changes: CampaignUpdate
) -> Campaign:
    tenant = tenant_to_manage(session, principal, tenant_id)
    campaign = find_campaign(session, principal, tenant, campaign_id)
    fields = changed_fields(changes)
    if changes.name is not None:
        campaign.name = changes.name
        campaign.name_key = campaign.name.lower()
    if changes.status is not None:
        campaign.status = changes.status
    flush_or_conflict(session, f"campaign {campaign.name!r} already exists")
    if fields:
        campaigns_changed(session, campaign.template_pk)
    return campaign


def campaigns_changed(session: Session, template_pk: int) -> None:
    """Every change to a template's campaigns calls this, in its transaction: processes that
    rendered the campaign list (switchboard.noojee.campaign_list) see the new version and redo it.
    Counted in SQL, so concurrent changes cannot both write the same number."""
    session.execute(
        update(CampaignTemplate)
        .where(CampaignTemplate.pk == template_pk)
        .values(campaigns_version=CampaignTemplate.campaigns_version + 1)
    )


def campaign_view(session: Session, campaign: Campaign, tenant_id: str) -> dict[str, Any]:
    template = session.get_one(CampaignTemplate, campaign.template_pk)
    return {
        "id": campaign.pk,
        "tenantId": tenant_id,
        "name": campaign.name,
        "templateId": template.pk,
        "templateName": template.name,
        "status": campaign.status,
    }


def _campaigns_visible(
    principal: Principal, template_id: int | None, tenant_pk: int | None
) -> Select[Campaign]:
    stmt = select(Campaign).where(visibility(principal, Kind.CAMPAIGN))
    if tenant_pk is not None:
        stmt = stmt.where(Campaign.tenant_pk == tenant_pk)
    if template_id is not None:
        stmt = stmt.where(Campaign.template_pk == template_id)
    return stmt


def visible_campaigns(
    session: Session, principal: Principal, template_id: int | None, tenant_pk: int | None = None
) -> list[Campaign]:
    """Every campaign the principal may see (Noojee's API-key rule: those of its teams' templates), by id."""
    stmt = _campaigns_visible(principal, template_id, tenant_pk).order_by(Campaign.pk)
    return list(session.scalars(stmt, scope_params(principal)))


def list_campaigns(
    session: Session, principal: Principal, tenant_id: str, template_id: int | None
) -> tuple[Tenant, list[Campaign]]:
    tenant = find_tenant(session, principal, tenant_id)
    return tenant, visible_campaigns(session, principal, template_id, tenant.pk)


def campaign_page(
    session: Session,
    principal: Principal,
    tenant_id: str,
    template_id: int | None,
    after: int | None,
    limit: int,
) -> tuple[Tenant, list[Campaign], int]:
    """A page of the tenant's visible campaigns by id (see keyset_page), and how many there are."""
    tenant = find_tenant(session, principal, tenant_id)
    stmt = _campaigns_visible(principal, template_id, tenant.pk)
    rows, total = keyset_page(session, stmt, Campaign.pk, after, limit, scope_params(principal))
    return tenant, rows, total
