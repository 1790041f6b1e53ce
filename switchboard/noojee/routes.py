"""/servicemanager/rest/<API>/<method>: POST only, key in apiKey (query or form) or the headers."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from switchboard.access.dependencies import authorize
from switchboard.access.policy import Area
from switchboard.access.principal import Principal
from switchboard.audit.recording import audit_write
from switchboard.contact_centre import service
from switchboard.contact_centre.lead_rows import noojee_row
from switchboard.contact_centre.lead_writer import audit_object
from switchboard.contact_centre.leads import (
    NOOJEE_MESSAGES,
    Batch,
    LeadInput,
    Outcome,
    RowResult,
    insert_batch,
    update_batch,
)
from switchboard.contact_centre.models import Team
from switchboard.directory.models import Tenant
from switchboard.errors import BadRequest, MethodNotAllowed, NotFound, TooManyRequests
from switchboard.kit.schemas import Schema
from switchboard.kit.surfaces import NOOJEE_PREFIX
from switchboard.noojee.envelope import documented_errors, ok
from switchboard.noojee.parameters import IDEMPOTENCY_KEY, flag, optional_id, parameter, required_id
from switchboard.web import idempotency
from switchboard.web.state import database_of, services_of

router = APIRouter(prefix=NOOJEE_PREFIX.rstrip("/"), tags=["noojee"])
CampaignsCaller = Annotated[Principal, Depends(authorize(Area.CAMPAIGNS))]
ENVELOPE_ERRORS = documented_errors(
    (400, "Invalid request"),
    (401, "No valid apiKey"),
    (403, "Not allowed for this key"),
    (404, "Unknown method, or nothing visible"),
    (405, "POST only"),
    (429, "Too many requests"),
)


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


@router.post(
    "/CampaignAPI/getCampaignTemplateList",
    response_model=TemplateList,
    responses={status: ENVELOPE_ERRORS[status] for status in (401, 403, 405, 429)},  # no parameters
)
def get_campaign_template_list(request: Request, principal: CampaignsCaller) -> Response:
    """The campaign templates this key may see (a user key: its account's teams' templates)."""
    with database_of(request).transaction() as session:
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


@router.post(
    "/CampaignAPI/getCampaignList",
    response_model=CampaignList,
    responses={status: ENVELOPE_ERRORS[status] for status in (400, 401, 403, 405, 429)},  # a list
)
async def get_campaign_list(request: Request, principal: CampaignsCaller) -> Response:
    """The campaigns this key may see, optionally of one template (fTemplateId)."""
    template_id = await optional_id(request, "fTemplateId")
    campaign_list = services_of(request).campaign_list
    body = await campaign_list.body(principal, template_id)
    return Response(body, media_type="application/json")


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


# -- leads ------------------------------------------------------------------------------------------


class LeadResult(Schema):
    model_config = {"alias_generator": None}
    Code: int
    Message: str
    Detail: str
    leadId: int | None
    njExternalLeadId: str | None


class LeadResults(Schema):
    model_config = {"alias_generator": None}
    Code: int
    Message: str
    entities: list[LeadResult]


LEAD_RESPONSES = {
    **ENVELOPE_ERRORS,
    429: {
        "description": "Too many concurrent lead requests: Code 109 for the request and every row",
        "content": {"application/json": {"example": {"Code": 109, "entities": []}}},
    },
}
# The body is read by hand (a JSON array, one verdict per row), so OpenAPI is told its shape.
LEADS_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "description": "The template's lead fields by name, plus system fields.",
                        "properties": {
                            "njExternalLeadId": {"type": "string", "maxLength": 100},
                            "njCallBackDate": {"type": "string", "example": "2026/12/01 09:30"},
                            "njPriority": {"type": "string", "example": "10"},
                            "njDisposition": {"type": "string"},
                        },
                        "additionalProperties": {"type": ["string", "number", "null"]},
                    },
                },
                "example": [{"firstName": "Jane", "phone": "+61 3 9000 0001", "njExternalLeadId": "crm-17"}],
            }
        },
    }
}


async def _lead_rows(request: Request, update: bool) -> list[LeadInput]:
    """The JSON array body, each object a lead; 400 when the request as a whole is malformed."""
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise BadRequest("The body must be a JSON array of lead objects.") from None
    if not isinstance(body, list) or not all(isinstance(item, dict) for item in body):
        raise BadRequest("The body must be a JSON array of lead objects.")
    return [noojee_row(item, update) for item in body]


def _lead_entities(results: list[RowResult]) -> list[dict[str, Any]]:
    return [
        {
            "Code": int(r.outcome),
            "Message": NOOJEE_MESSAGES[r.outcome],
            "Detail": r.detail,
            "leadId": r.lead_pk,
            "njExternalLeadId": r.external_id,
        }
        for r in results
    ]


async def _write_leads(request: Request, principal: Principal, write: Batch, update: bool) -> Response:
    template_id = await required_id(request, "fTemplateId")
    campaign_id = await required_id(request, "fCampaignId")
    allow_duplicates = await flag(request, "allowDuplicates")
    allocation = None if update else await parameter(request, "allocationName")
    rows = await _lead_rows(request, update)
    writer = services_of(request).lead_writer
    try:
        results = await run_in_threadpool(
            partial(writer.write, allocation=allocation),
            principal,
            None,
            campaign_id,
            rows,
            write,
            allow_duplicates,
            template_id,
        )
    except TooManyRequests as busy:
        # Noojee's 109 for the request and each row, with HTTP 429 and Retry-After.
        outcome = Outcome.TOO_MANY_CONCURRENT_REQUESTS
        rejected = [
            RowResult(i, outcome, busy.detail, external_id=row.external_id) for i, row in enumerate(rows)
        ]
        body = {
            "Code": int(outcome),
            "Message": NOOJEE_MESSAGES[outcome],
            "entities": _lead_entities(rejected),
        }
        return Response(orjson.dumps(body), 429, busy.headers(), media_type="application/json")
    audit_write(request, 200, audit_object(campaign_id, write, results), None)
    return ok(entities=_lead_entities(results))


@router.post(
    "/CampaignAPI/insertLeadFast",
    response_model=LeadResults,
    responses={
        **LEAD_RESPONSES,
        **documented_errors(
            (409, "A request with this idempotencyKey is still in progress"),
            (422, "This idempotencyKey was used for a different request"),
        ),
    },
    openapi_extra=LEADS_BODY,
)
async def insert_lead_fast(request: Request, principal: CampaignsCaller) -> Response:
    """Inserts the JSON array of leads into campaign fCampaignId of template fTemplateId.

    HTTP 200 with one entity per lead, in order, each with Noojee's Code: 0 OK, 102 no phone
    fields, 104 DNC, 105 duplicate phone (unless allowDuplicates=true), 106 invalid
    disposition, 108 '<No Change>' on insert, 112 duplicate njExternalLeadId, 103 its batch
    failed; 150 (Switchboard's) a value the template refuses. `allocationName` names the
    allocation the leads join (created if new; the campaign's default one when not given).
    `idempotencyKey`: a retry answers the first insert's entities instead of inserting again.
    """
    key = await parameter(request, IDEMPOTENCY_KEY)
    return await idempotency.once(
        request,
        principal.identity,
        key,
        partial(_write_leads, request, principal, insert_batch, update=False),
        IDEMPOTENCY_KEY,
    )


@router.post(
    "/CampaignAPI/updateLeadFast",
    response_model=LeadResults,
    responses=LEAD_RESPONSES,
    openapi_extra=LEADS_BODY,
)
async def update_lead_fast(request: Request, principal: CampaignsCaller) -> Response:
    """Updates leads matched by njExternalLeadId; '<No Change>' leaves a value (or the disposition)
    as it is. Codes as insertLeadFast, plus 101 no such lead and 107 '<No Change>' for a
    disposition the lead does not have."""
    return await _write_leads(request, principal, update_batch, update=True)


@router.api_route(
    "/{api}/{method}",
    methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
    include_in_schema=False,
)
async def unknown_method(api: str, method: str, request: Request) -> Response:
    """Registered last: a method that exists (another verb than POST) is a 405, else a 404."""
    if f"{router.prefix}/{api}/{method}" in request.app.openapi()["paths"]:  # built once, then cached
        raise MethodNotAllowed("Noojee API methods accept POST only.", allow="POST")
    raise NotFound(f"no Noojee method {api}/{method}")
