"""Teams (/tenants/{t}/teams/), campaign templates and campaigns: thin adapters over the service."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from switchboard.access.dependencies import AccountsCaller, authorize
from switchboard.access.policy import Area
from switchboard.access.principal import Principal
from switchboard.audit.recording import audit_write
from switchboard.contact_centre import service
from switchboard.contact_centre.schemas import (
    CampaignCreate,
    CampaignOut,
    CampaignUpdate,
    MemberBody,
    TeamCreate,
    TeamOut,
    TemplateCreate,
    TemplateOut,
    TemplateUpdate,
)
from switchboard.directory.service import find_tenant
from switchboard.kit.pagination import (
    DEFAULT_LIMIT,
    Cursor,
    Limit,
    number_after,
    page_body,
    page_request,
)
from switchboard.kit.schemas import RowId, page_of
from switchboard.web.responses import errors, json_response, no_content
from switchboard.web.state import database_of

router = APIRouter(prefix="/api/v1/tenants/{tenant_id}", tags=["contact centre"])
# Noojee's API-key rules: user API keys reach campaign-related endpoints, seeing what their account may.
CampaignsCaller = Annotated[Principal, Depends(authorize(Area.CAMPAIGNS))]
READ = errors(401, 403, 404)
LOOKUP = errors(400, 401, 403, 404)  # READ, by an id that must be a number
WRITE = errors(400, 401, 403, 404, 409)

TeamPage = page_of(TeamOut, "teams")
TemplatePage = page_of(TemplateOut, "campaignTemplates")
CampaignPage = page_of(CampaignOut, "campaigns")


def _write(
    request: Request,
    act: Callable[[Session], Any],
    view: Callable[[Session, Any], dict[str, Any]],
    kind: str,
    status: int = 200,
) -> Response:
    """One service call in a unit of work; answer with the object's view; audit the write."""
    with database_of(request).transaction() as session:
        obj = act(session)
        body = view(session, obj)
    audit_write(request, status, f"{kind}:{body['tenantId']}/{obj.pk}", obj.tenant_pk)
    return json_response(body, status)


@router.get("/teams/", response_model=TeamPage, responses=LOOKUP)
def list_teams(
    request: Request,
    principal: AccountsCaller,
    tenant_id: str,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Response:
    """Teams of the tenant by name (administrators)."""
    page = page_request(limit, cursor, None, None)
    with database_of(request).transaction() as session:
        tenant, teams, total = service.team_page(session, principal, tenant_id, page.after, limit)
        items = [
            {**service.team_view(session, team, tenant.tenant_id), "_sort": team.name_key} for team in teams
        ]
    return json_response(page_body(TeamPage, items, page, total))


@router.post("/teams/", status_code=201, response_model=TeamOut, responses=WRITE)
def create_team(request: Request, principal: AccountsCaller, tenant_id: str, body: TeamCreate) -> Response:
    with database_of(request).transaction() as session:
        tenant, team = service.create_team(session, principal, tenant_id, body)
        view = service.team_view(session, team, tenant.tenant_id)
    audit_write(request, 201, f"team:{tenant_id}/{team.name}", tenant.pk)
    return json_response(view, 201)


@router.delete("/teams/{name}/", status_code=204, responses=READ)
def delete_team(request: Request, principal: AccountsCaller, tenant_id: str, name: str) -> Response:
    with database_of(request).transaction() as session:
        service.delete_team(session, principal, tenant_id, name)
    audit_write(request, 204, f"team:{tenant_id}/{name}", None)
    return no_content()


@router.post("/teams/{name}/members/", response_model=TeamOut, responses=LOOKUP)  # adding twice: no-op
def add_member(
    request: Request, principal: AccountsCaller, tenant_id: str, name: str, body: MemberBody
) -> Response:
    """Adds an account of the tenant (or changes its role); its keys see the team's campaigns at once."""
    with database_of(request).transaction() as session:
        team = service.add_member(session, principal, tenant_id, name, body)
        view = service.team_view(session, team, tenant_id)
    audit_write(request, 200, f"team:{tenant_id}/{name}+{body.username}", team.tenant_pk)
    return json_response(view)


@router.delete("/teams/{name}/members/{username}/", status_code=204, responses=READ)
def remove_member(
    request: Request, principal: AccountsCaller, tenant_id: str, name: str, username: str
) -> Response:
    with database_of(request).transaction() as session:
        service.remove_member(session, principal, tenant_id, name, username)
    audit_write(request, 204, f"team:{tenant_id}/{name}-{username}", None)
    return no_content()


@router.get("/campaign-templates/", response_model=TemplatePage, responses=LOOKUP)
def list_templates(
    request: Request,
    principal: CampaignsCaller,
    tenant_id: str,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Response:
    """The templates the caller may see, by id: all for admins; for others, those of their teams."""
    page = page_request(limit, cursor, None, None)
    with database_of(request).transaction() as session:
        tenant, templates, total = service.template_page(
            session, principal, tenant_id, number_after(page), limit
        )
        items = [{**service.template_view(session, t, tenant.tenant_id), "_sort": t.pk} for t in templates]
    return json_response(page_body(TemplatePage, items, page, total))


@router.post("/campaign-templates/", status_code=201, response_model=TemplateOut, responses=WRITE)
def create_template(
    request: Request, principal: CampaignsCaller, tenant_id: str, body: TemplateCreate
) -> Response:
    return _write(
        request,
        lambda s: service.create_template(s, principal, tenant_id, body),
        lambda s, template: service.template_view(s, template, tenant_id),
        "campaign_template",
        201,
    )


@router.get("/campaign-templates/{template_id}/", response_model=TemplateOut, responses=LOOKUP)
def get_template(
    request: Request, principal: CampaignsCaller, tenant_id: str, template_id: RowId
) -> Response:
    with database_of(request).transaction() as session:
        tenant = find_tenant(session, principal, tenant_id)
        template = service.find_template(session, principal, tenant, template_id)
        return json_response(service.template_view(session, template, tenant.tenant_id))


@router.patch("/campaign-templates/{template_id}/", response_model=TemplateOut, responses=WRITE)
def update_template(
    request: Request,
    principal: CampaignsCaller,
    tenant_id: str,
    template_id: RowId,
    body: TemplateUpdate,
) -> Response:
    """Changes a template; a new team changes who sees its campaigns at once."""
    return _write(
        request,
        lambda s: service.update_template(s, principal, tenant_id, template_id, body),
        lambda s, template: service.template_view(s, template, tenant_id),
        "campaign_template",
    )


@router.get("/campaigns/", response_model=CampaignPage, responses=LOOKUP)
def list_campaigns(
    request: Request,
    principal: CampaignsCaller,
    tenant_id: str,
    template_id: Annotated[RowId | None, Query(alias="templateId")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Response:
    """The campaigns the caller may see, by id (a non-admin: those of its teams' templates, no others)."""
    page = page_request(limit, cursor, None, None)
    with database_of(request).transaction() as session:
        tenant, campaigns, total = service.campaign_page(
            session, principal, tenant_id, template_id, number_after(page), limit
        )
        items = [{**service.campaign_view(session, c, tenant.tenant_id), "_sort": c.pk} for c in campaigns]
    return json_response(page_body(CampaignPage, items, page, total))


@router.post("/campaigns/", status_code=201, response_model=CampaignOut, responses=WRITE)
def create_campaign(
    request: Request, principal: CampaignsCaller, tenant_id: str, body: CampaignCreate
) -> Response:
    return _write(
        request,
        lambda s: service.create_campaign(s, principal, tenant_id, body),
        lambda s, campaign: service.campaign_view(s, campaign, tenant_id),
        "campaign",
        201,
    )


@router.get("/campaigns/{campaign_id}/", response_model=CampaignOut, responses=LOOKUP)
def get_campaign(
    request: Request, principal: CampaignsCaller, tenant_id: str, campaign_id: RowId
) -> Response:
    with database_of(request).transaction() as session:
        tenant = find_tenant(session, principal, tenant_id)
        campaign = service.find_campaign(session, principal, tenant, campaign_id)
        return json_response(service.campaign_view(session, campaign, tenant.tenant_id))


@router.patch("/campaigns/{campaign_id}/", response_model=CampaignOut, responses=WRITE)
def update_campaign(
    request: Request,
    principal: CampaignsCaller,
    tenant_id: str,
    campaign_id: RowId,
    body: CampaignUpdate,
) -> Response:
    return _write(
        request,
        lambda s: service.update_campaign(s, principal, tenant_id, campaign_id, body),
        lambda s, campaign: service.campaign_view(s, campaign, tenant_id),
        "campaign",
    )
