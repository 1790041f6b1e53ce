"""/servicemanager/rest/<API>/<method>: POST only, key in apiKey (query or form) or the headers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from switchboard.access.dependencies import authorize
from switchboard.access.policy import Area
from switchboard.access.principal import Principal
from switchboard.contact_centre import service
from switchboard.contact_centre.models import Team
from switchboard.db.engine import Database
from switchboard.directory.models import Tenant
from switchboard.errors import BadRequest, MethodNotAllowed, NotFound
from switchboard.noojee.envelope import ok
from switchboard.schemas import Schema

router = APIRouter(prefix="/servicemanager/rest", tags=["noojee"])
CampaignsCaller = Annotated[Principal, Depends(authorize(Area.CAMPAIGNS))]
# Methods that exist; anything else under the prefix is an envelope 404.
KNOWN = {("CampaignAPI", "getCampaignTemplateList"), ("CampaignAPI", "getCampaignList")}
ENVELOPE_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {
        "description": text,
        "content": {"application/json": {"example": {"Code": -status, "Message": text}}},
    }
    for status, text in (
        (400, "Invalid request"),
        (401, "No valid apiKey"),
        (403, "Not allowed for this key"),
        (404, "Unknown method, or nothing visible"),
        (405, "POST only"),
        (429, "Too many requests"),
    )
}


class TemplateEntity(Schema):
    model_config = {"alias_generator": None}
    id: int
    name: str
    team: str | None
    tenantId: str


class CampaignEntity(Schema):
    model_config = {"alias_generator": None}
    id: int
    name: str
    templateId: int
    status: str
    tenantId: str


class TemplateList(Schema):
    model_config = {"alias_generator": None}
    Code: int
    Message: str
    entities: list[TemplateEntity]


class CampaignList(Schema):
    model_config = {"alias_generator": None}
    Code: int
    Message: str
    entities: list[CampaignEntity]


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def _parameter(request: Request, name: str) -> str | None:
    """A Noojee parameter, from the query string or a form body."""
    value = request.query_params.get(name)
    if value is None and request.headers.get("content-type", "").startswith(
        "application/x-www-form-urlencoded"
    ):
        form_value = (await request.form()).get(name)
        value = form_value if isinstance(form_value, str) else None
    return value


@router.post("/CampaignAPI/getCampaignTemplateList", response_model=TemplateList, responses=ENVELOPE_ERRORS)
def get_campaign_template_list(request: Request, principal: CampaignsCaller) -> Response:
    """The campaign templates this key may see (seed 000: its account's teams' templates)."""
    with _db(request).transaction() as session:
        templates = service.visible_templates(session, principal)
        tenants = _tenant_ids(session, {t.tenant_pk for t in templates})
        teams = _team_names(session, {t.team_pk for t in templates if t.team_pk})
        entities = [
            {
                "id": t.pk,
                "name": t.name,
                "team": teams.get(t.team_pk) if t.team_pk else None,
                "tenantId": tenants[t.tenant_pk],
            }
            for t in templates
        ]
    return ok(entities=entities)


@router.post("/CampaignAPI/getCampaignList", response_model=CampaignList, responses=ENVELOPE_ERRORS)
async def get_campaign_list(request: Request, principal: CampaignsCaller) -> Response:
    """The campaigns this key may see, optionally of one template (fTemplateId)."""
    raw = await _parameter(request, "fTemplateId")
    template_id = None
    if raw:
        if not raw.isdigit():
            raise BadRequest.field("fTemplateId", "must be a template id (a number)")
        template_id = int(raw)
    return await run_in_threadpool(_campaign_list, request, principal, template_id)


def _campaign_list(request: Request, principal: Principal, template_id: int | None) -> Response:
    with _db(request).transaction() as session:
        campaigns = service.visible_campaigns(session, principal, template_id)
        tenants = _tenant_ids(session, {c.tenant_pk for c in campaigns})
        entities = [
            {
                "id": c.pk,
                "name": c.name,
                "templateId": c.template_pk,
                "status": c.status,
                "tenantId": tenants[c.tenant_pk],
            }
            for c in campaigns
        ]
    return ok(entities=entities)


def _tenant_ids(session: Session, pks: set[int]) -> dict[int, str]:
    if not pks:
        return {}
    return {
        pk: tenant_id
        for pk, tenant_id in session.execute(select(Tenant.pk, Tenant.tenant_id).where(Tenant.pk.in_(pks)))
    }


def _team_names(session: Session, pks: set[int]) -> dict[int, str]:
    if not pks:
        return {}
    return {pk: name for pk, name in session.execute(select(Team.pk, Team.name).where(Team.pk.in_(pks)))}


@router.api_route(
    "/{api}/{method}",
    methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
    include_in_schema=False,
)
async def unknown_method(api: str, method: str, request: Request) -> Response:
    if (api, method) in KNOWN:
        raise MethodNotAllowed("Noojee API methods accept POST only.", allow="POST")
    raise NotFound(f"no Noojee method {api}/{method}")
