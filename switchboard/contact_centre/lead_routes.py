"""Leads (/tenants/{t}/campaigns/{c}/leads/) and the do-not-call list (/tenants/{t}/dnc/)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import AfterValidator, Field, StringConstraints, ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from switchboard.access.dependencies import authorize
from switchboard.access.policy import Area
from switchboard.access.principal import Principal
from switchboard.audit.recording import audit_write
from switchboard.contact_centre import allocations, dnc, leads
from switchboard.contact_centre.lead_writer import audit_object
from switchboard.contact_centre.leads import (
    ABSENT,
    CampaignContext,
    LeadInput,
    Outcome,
    RowResult,
    callback_in_range,
)
from switchboard.directory.service import find_tenant
from switchboard.errors import BadRequest, Conflict, NotFound, SwitchboardError
from switchboard.kit.pagination import (
    DEFAULT_LIMIT,
    Cursor,
    Limit,
    is_number,
    number_after,
    page_body,
    page_request,
)
from switchboard.kit.schemas import RowId, Schema, page_of
from switchboard.web import idempotency
from switchboard.web.responses import errors, json_response, no_content
from switchboard.web.state import database_of, services_of

router = APIRouter(prefix="/api/v1/tenants/{tenant_id}", tags=["leads"])
CampaignsCaller = Annotated[Principal, Depends(authorize(Area.CAMPAIGNS))]
READ = errors(400, 401, 403, 404)
WRITE = errors(400, 401, 403, 404, 409, 429)

FieldValue = str | int | float | None
CallbackAt = Annotated[datetime, AfterValidator(callback_in_range)]


class LeadIn(Schema):
    """One lead. `fields` are the template's lead fields by name; phone fields are normalised."""

    external_id: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    fields: dict[str, FieldValue] = Field(default_factory=dict)
    priority: Annotated[int, Field(ge=0, le=100)] | None = Field(
        default=None, description="0-100, lower dials first; 10 when not given."
    )
    callback_at: CallbackAt | None = Field(
        default=None,
        description="ISO 8601, years 1970 to 9998; without an offset it is in the template's "
        "contact-hours zone.",
    )
    disposition: str | None = None


class LeadBatch(Schema):
    leads: Annotated[list[dict[str, Any]], Field(min_length=1)] = Field(
        description="LeadIn objects. A row that is not a valid LeadIn gets its own result (code 150)."
    )
    allow_duplicates: bool = Field(
        default=False, description="Skip the check for leads of the campaign with the same phone number."
    )
    allocation_name: Annotated[str, StringConstraints(min_length=1, max_length=80)] | None = Field(
        default=None,
        description="The allocation (named batch) the leads go to, created if new; "
        "the campaign's default allocation when not given.",
    )


class LeadPatch(Schema):
    """Only what is sent changes; a field set to null is cleared; callbackAt null clears it."""

    fields: dict[str, FieldValue] = Field(default_factory=dict)
    priority: Annotated[int, Field(ge=0, le=100)] | None = None
    callback_at: CallbackAt | None = None
    disposition: str | None = None


class LeadOut(Schema):
    model_config = {"extra": "ignore"}
    id: int
    campaign_id: int
    allocation_id: int | None
    external_id: str | None
    fields: dict[str, str]
    phones: list[str]
    priority: int
    callback_at: str | None
    callback_local: str | None
    disposition: str | None
    status: Literal["new", "callback", "finished"]
    created_at: str
    updated_at: str


class AllocationOut(Schema):
    id: int
    campaign_id: int
    name: str
    lead_count: int
    created_at: str


class RowResultOut(Schema):
    index: int
    code: int = Field(description="0 written; otherwise Noojee's lead code (101-112) or 150.")
    outcome: str
    detail: str
    id: int | None
    external_id: str | None


class BatchOut(Schema):
    results: list[RowResultOut]
    written: int
    rejected: int


class DncIn(Schema):
    number: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    note: Annotated[str, StringConstraints(max_length=200)] | None = None


class DncOut(Schema):
    number: str
    note: str | None
    created_at: str


LeadPage = page_of(LeadOut, "leads")
AllocationPage = page_of(AllocationOut, "allocations")
DncPage = page_of(DncOut, "dncEntries")


def row_of(raw: dict[str, Any]) -> LeadInput:
    """A native row as the service takes it; an invalid row becomes its own rejection."""
    try:
        lead = LeadIn.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "lead"
        external_id = raw.get("externalId") if isinstance(raw.get("externalId"), str) else None
        return LeadInput(
            external_id=external_id, rejected=(Outcome.INVALID_VALUE, f"{where}: {first['msg']}")
        )
    return LeadInput(
        fields=dict(lead.fields),
        external_id=lead.external_id,
        priority=lead.priority if lead.priority is not None else ABSENT,
        callback_at=lead.callback_at if lead.callback_at is not None else ABSENT,
        disposition=lead.disposition if lead.disposition is not None else ABSENT,
    )


def _write(
    request: Request,
    principal: Principal,
    tenant_id: str,
    campaign_id: int,
    rows: list[LeadInput],
    write: leads.Batch,
    allow_duplicates: bool,
    allocation: str | None = None,
) -> list[RowResult]:
    writer = services_of(request).lead_writer
    results = writer.write(
        principal, tenant_id, campaign_id, rows, write, allow_duplicates, allocation=allocation
    )
    audit_write(request, 200, audit_object(campaign_id, write, results), None)
    return results


def _result_view(result: RowResult) -> dict[str, Any]:
    return {
        "index": result.index,
        "code": int(result.outcome),
        "outcome": result.outcome.name,
        "detail": result.detail,
        "id": result.lead_pk,
        "externalId": result.external_id,
    }


def _context(session: Session, principal: Principal, tenant_id: str, campaign_id: int) -> CampaignContext:
    tenant = find_tenant(session, principal, tenant_id)
    return leads.campaign_context(session, principal, tenant, campaign_id)


@router.get("/campaigns/{campaign_id}/leads/", response_model=LeadPage, responses=READ)
def list_leads(
    request: Request,
    principal: CampaignsCaller,
    tenant_id: str,
    campaign_id: RowId,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
    status: Literal["new", "callback", "finished"] | None = None,
    q: Annotated[
        str | None,
        Query(
            max_length=100,
            description="External id or a text field starting with this (fields: any case), "
            "or a phone number starting with it once normalised.",
        ),
    ] = None,
) -> Response:
    """The campaign's leads by id, for whoever sees the campaign."""
    page = page_request(limit, cursor, None, None)
    if page.after is not None and not is_number(page.after):
        raise BadRequest.field("cursor", "is not a cursor returned by this list")
    with database_of(request).transaction() as session:
        ctx = _context(session, principal, tenant_id, campaign_id)
        after = int(page.after) if page.after else None
        rows, total = leads.list_leads(session, ctx, after, limit, status, q)
        items = [{**leads.lead_view(ctx, lead), "_sort": lead.pk} for lead in rows]
    return json_response(page_body(LeadPage, items, page, total))


@router.post(
    "/campaigns/{campaign_id}/leads/",
    response_model=BatchOut,
    responses=errors(400, 401, 403, 404, 409, 422, 429),  # 409, 422: the Idempotency-Key
)
async def insert_leads(
    request: Request,
    principal: CampaignsCaller,
    tenant_id: str,
    campaign_id: RowId,
    body: LeadBatch,
    idempotency_key: idempotency.KeyHeader = None,
) -> Response:
    """Inserts leads, thousands per call: one transaction per batch, one result per row, in order.

    Codes are Noojee's: 0 written, 102 no phone number, 104 on the do-not-call list, 105 another
    lead of the campaign has the number, 106 unknown disposition, 112 external id taken; 150 a
    value the template refuses. HTTP 200 whatever the rows' codes. With an Idempotency-Key, a
    retry answers the first insert's results instead of inserting again.
    """
    rows = [row_of(raw) for raw in body.leads]

    async def insert() -> Response:
        results = await run_in_threadpool(
            _write,
            request,
            principal,
            tenant_id,
            campaign_id,
            rows,
            leads.insert_batch,
            body.allow_duplicates,
            body.allocation_name,
        )
        written = sum(1 for r in results if r.outcome is Outcome.OK)
        body_out = {
            "results": [_result_view(r) for r in results],
            "written": written,
            "rejected": len(rows) - written,
        }
        return json_response(body_out)

    return await idempotency.once(request, principal.identity, idempotency_key, insert)


@router.get("/campaigns/{campaign_id}/leads/{lead_id}/", response_model=LeadOut, responses=READ)
def get_lead(
    request: Request, principal: CampaignsCaller, tenant_id: str, campaign_id: RowId, lead_id: RowId
) -> Response:
    with database_of(request).transaction() as session:
        ctx = _context(session, principal, tenant_id, campaign_id)
        return json_response(leads.lead_view(ctx, leads.find_lead(session, ctx, lead_id)))


# -- allocations -----------------------------------------------------------------------------------


@router.get("/campaigns/{campaign_id}/allocations/", response_model=AllocationPage, responses=READ)
def list_allocations(
    request: Request,
    principal: CampaignsCaller,
    tenant_id: str,
    campaign_id: RowId,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Response:
    """The campaign's allocations (named batches of its leads) by id, with their lead counts;
    for whoever sees the campaign."""
    page = page_request(limit, cursor, None, None)
    with database_of(request).transaction() as session:
        tenant = find_tenant(session, principal, tenant_id)
        rows, total = allocations.campaign_allocations(
            session, principal, tenant, campaign_id, number_after(page), limit
        )
        items = [{**allocations.allocation_view(a, n), "_sort": a.pk} for a, n in rows]
    return json_response(page_body(AllocationPage, items, page, total))


@router.get(
    "/campaigns/{campaign_id}/allocations/{allocation_id}/", response_model=AllocationOut, responses=READ
)
def get_allocation(
    request: Request, principal: CampaignsCaller, tenant_id: str, campaign_id: RowId, allocation_id: RowId
) -> Response:
    with database_of(request).transaction() as session:
        tenant = find_tenant(session, principal, tenant_id)
        found = allocations.find_allocation(session, principal, tenant, campaign_id, allocation_id)
        return json_response(allocations.allocation_view(*found))


# A single-lead change answers with the HTTP status its row code means.
_REJECTION_ERRORS: dict[Outcome, type[SwitchboardError]] = {
    Outcome.LEAD_NOT_FOUND: NotFound,
    Outcome.DNC: Conflict,
    Outcome.DUPLICATE: Conflict,
    Outcome.DUPLICATE_EXTERNAL_ID: Conflict,
}


@router.patch("/campaigns/{campaign_id}/leads/{lead_id}/", response_model=LeadOut, responses=WRITE)
def update_lead(
    request: Request,
    principal: CampaignsCaller,
    tenant_id: str,
    campaign_id: RowId,
    lead_id: RowId,
    body: LeadPatch,
    allow_duplicates: Annotated[bool, Query(alias="allowDuplicates")] = False,
) -> Response:
    """Changes a lead: the same checks as an insert (do-not-call, duplicates, the template)."""
    sent = body.model_fields_set
    row = LeadInput(
        fields=dict(body.fields),
        lead_pk=lead_id,
        priority=body.priority if "priority" in sent else ABSENT,
        callback_at=body.callback_at if "callback_at" in sent else ABSENT,
        disposition=body.disposition if "disposition" in sent else ABSENT,
    )
    (result,) = _write(
        request, principal, tenant_id, campaign_id, [row], leads.update_batch, allow_duplicates
    )
    if result.outcome is not Outcome.OK:
        raise _REJECTION_ERRORS.get(result.outcome, BadRequest)(result.detail)
    with database_of(request).transaction() as session:
        ctx = _context(session, principal, tenant_id, campaign_id)
        return json_response(leads.lead_view(ctx, leads.find_lead(session, ctx, lead_id)))


@router.delete("/campaigns/{campaign_id}/leads/{lead_id}/", status_code=204, responses=READ)
def delete_lead(
    request: Request, principal: CampaignsCaller, tenant_id: str, campaign_id: RowId, lead_id: RowId
) -> Response:
    with database_of(request).transaction() as session:
        ctx = _context(session, principal, tenant_id, campaign_id)
        leads.delete_lead(session, ctx, lead_id)
    audit_write(request, 204, f"lead:{tenant_id}/{campaign_id}/{lead_id}", ctx.tenant_pk)
    return no_content()


# -- do-not-call list ------------------------------------------------------------------------------


@router.get("/dnc/", response_model=DncPage, responses=READ)
def list_dnc(
    request: Request,
    principal: CampaignsCaller,
    tenant_id: str,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
    number_prefix: Annotated[str | None, Query(alias="numberPrefix", max_length=20)] = None,
) -> Response:
    """The tenant's do-not-call numbers, normalised, in order (administrators)."""
    page = page_request(limit, cursor, number_prefix, None)
    with database_of(request).transaction() as session:
        entries, total = dnc.list_entries(session, principal, tenant_id, page)
        items = [{**dnc.entry_view(entry), "_sort": entry.number} for entry in entries]
    return json_response(page_body(DncPage, items, page, total))


@router.post("/dnc/", status_code=201, response_model=DncOut, responses=WRITE)
def add_dnc(request: Request, principal: CampaignsCaller, tenant_id: str, body: DncIn) -> Response:
    """Adds a number (normalised as lead phones are); later inserts and updates refuse it (104)."""
    with database_of(request).transaction() as session:
        entry = dnc.add_entry(session, principal, tenant_id, body.number, body.note)
        view = dnc.entry_view(entry)
    audit_write(request, 201, f"dnc:{tenant_id}/{entry.number}", entry.tenant_pk)
    return json_response(view, 201)


@router.delete("/dnc/{number}/", status_code=204, responses=READ)
def remove_dnc(request: Request, principal: CampaignsCaller, tenant_id: str, number: str) -> Response:
    with database_of(request).transaction() as session:
        normal = dnc.remove_entry(session, principal, tenant_id, number)
    audit_write(request, 204, f"dnc:{tenant_id}/{normal}", None)
    return no_content()
