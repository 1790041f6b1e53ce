"""Campaigns and their leads: lists, search, and CSV import with a page per import, over the services."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from switchboard.access.policy import Area, Kind, Target, may_manage
from switchboard.audit.recording import audit_write
from switchboard.console import notices
from switchboard.console.contact_centre import tenant_page
from switchboard.console.forms import BLANK, Filled, Input, ShowAgain
from switchboard.console.lead_import import FileRefused, LeadFile, example_csv, read_lead_file, run_view
from switchboard.console.nav import CAMPAIGNS
from switchboard.console.pages import (
    checked,
    console_action,
    console_page,
    console_page_async,
    form_of,
    page,
    picked_tenant,
    refusal,
    refused,
)
from switchboard.console.sessions import SignedIn
from switchboard.contact_centre import allocations, lead_imports, leads, service
from switchboard.contact_centre.lead_writer import audit_object
from switchboard.contact_centre.models import Lead
from switchboard.contact_centre.schemas import CampaignCreate, CampaignUpdate
from switchboard.directory.models import Tenant
from switchboard.errors import SwitchboardError
from switchboard.kit.pagination import DEFAULT_LIMIT
from switchboard.settings import Settings
from switchboard.web.state import database_of, services_of

router = APIRouter(prefix="/console", include_in_schema=False)
CAMPAIGNS_PER_PAGE = DEFAULT_LIMIT
LEADS_PER_PAGE = DEFAULT_LIMIT
CAMPAIGN_STATUSES = ("active", "paused", "finished")
LEAD_STATUSES = ("new", "callback", "finished")
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
_FORM_OVERHEAD = 64 * 1024  # multipart boundaries and the other fields, around the file
_DRAIN_AT_MOST = 4 * MAX_UPLOAD_BYTES  # read (and drop) a refused upload so the browser sees why
IMPORT_REFRESH_SECONDS = 2  # a running import's page reloads itself (console.js: its progress in place)


def _settings(request: Request) -> Settings:
    settings = services_of(request).settings
    return settings


def _lead_counts(session: Session, campaign_pks: list[int]) -> dict[int, int]:
    """Leads per campaign, for a page of campaigns (the leads' campaign index answers it)."""
    if not campaign_pks:
        return {}
    stmt = (
        select(Lead.campaign_pk, func.count())
        .where(Lead.campaign_pk.in_(campaign_pks))
        .group_by(Lead.campaign_pk)
    )
    return {campaign_pk: count for campaign_pk, count in session.execute(stmt)}


def _page_number(raw: str) -> int:
    return int(raw) if raw.isdigit() and 0 < int(raw) < 1_000_000 else 1


def _campaign_url(campaign_id: int, tenant_id: str) -> str:
    return f"/console/campaigns/{campaign_id}/?{urlencode({'tenant': tenant_id})}"


# -- the campaign list -----------------------------------------------------------------------------


CAMPAIGN_FIELDS = {"name": Input("name", "Name"), "templateId": Input("template", "Template")}


def _campaign_list(request: Request, tenant: str, q: str, number: int, filled: Filled) -> Response:
    needle = q.strip().lower()[:80]

    def build(session: Session, current: SignedIn, chosen: Tenant) -> dict[str, Any]:
        _, rows = service.list_campaigns(session, current.principal, chosen.tenant_id, None)
        matching = sorted((c for c in rows if needle in c.name_key), key=lambda c: c.name_key)
        start = (number - 1) * CAMPAIGNS_PER_PAGE
        shown = matching[start : start + CAMPAIGNS_PER_PAGE]
        counts = _lead_counts(session, [c.pk for c in shown])
        may_create = may_manage(current.principal, Target(Kind.CONTACT_CENTRE, chosen.pk)).allowed
        visible_templates = (
            service.visible_templates(session, current.principal, chosen.pk) if may_create else []
        )
        return {
            "campaigns": [
                {**service.campaign_view(session, c, chosen.tenant_id), "leads": counts.get(c.pk, 0)}
                for c in shown
            ],
            "total": len(matching),
            "q": q.strip(),
            "page_number": number,
            "pages": max(1, -(-len(matching) // CAMPAIGNS_PER_PAGE)),
            "may_create": may_create,
            "templates": [{"id": str(t.pk), "name": t.name} for t in visible_templates],
        }

    return tenant_page(request, "campaigns.html", tenant, build, CAMPAIGNS, filled)


@router.get("/campaigns/")
def campaigns_page(
    request: Request, tenant: str = "", q: str = "", page_asked: Annotated[str, Query(alias="page")] = "1"
) -> Response:
    """The campaigns the API's list gives the account (an agent: its teams'), by name."""
    return _campaign_list(request, tenant, q, _page_number(page_asked), BLANK)


@router.post("/campaigns/")
async def create_campaign(request: Request, tenant: str) -> Response:
    """The API's create: tenant administrators, with one of the tenant's templates."""

    def work(session: Session, current: SignedIn, form: dict[str, str]) -> tuple[int, int]:
        data = checked(CampaignCreate, {"name": form.get("name", ""), "templateId": form.get("template", "")})
        campaign = service.create_campaign(session, current.principal, tenant, data)
        return campaign.pk, campaign.tenant_pk

    def again(current: SignedIn, filled: Filled) -> Response:
        return _campaign_list(request, tenant, "", 1, filled)

    shown = ShowAgain("new-campaign", CAMPAIGN_FIELDS, again, conflict="name")
    done = await console_action(request, work, shown, Area.CAMPAIGNS)
    if isinstance(done, Response):
        return done
    current, (campaign_pk, tenant_pk) = done
    audit_write(request, 201, f"campaign:{tenant}/{campaign_pk}", tenant_pk)
    return notices.redirect(_campaign_url(campaign_pk, tenant), current, "Campaign created.")


# -- one campaign: its leads, and the import tab ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class LeadFilter:
    """The Leads tab: a search, a status, and the last lead of the previous page."""

    q: str = ""
    status: str = ""
    after: int | None = None


@dataclass(frozen=True, slots=True)
class ImportForm:
    """The Import tab: the choices last made, and why the file was refused (shown next to it)."""

    error: str | None = None
    update: bool = False
    allow_duplicates: bool = False
    allocation: str = ""  # the allocation the new leads go to; empty: the campaign's default


def _leads_tab(session: Session, ctx: leads.CampaignContext, shown: LeadFilter) -> dict[str, Any]:
    rows, total = leads.list_leads(
        session, ctx, shown.after, LEADS_PER_PAGE, shown.status or None, shown.q or None
    )
    # A lead's other fields in the template's order; its numbers have a column of their own.
    others = [d["name"] for d in ctx.template.lead_fields if d["name"] not in ctx.phone_fields]
    items = [
        {
            **leads.lead_view(ctx, lead),
            "others": [(name, lead.fields[name]) for name in others if name in lead.fields],
        }
        for lead in rows[:LEADS_PER_PAGE]
    ]
    more = len(rows) > LEADS_PER_PAGE
    return {
        "filter": shown,
        "leads": items,
        "matching": total,
        "next_after": str(items[-1]["id"]) if more and items else None,
        "lead_statuses": LEAD_STATUSES,
    }


def _import_tab(request: Request, ctx: leads.CampaignContext, shown: ImportForm) -> dict[str, Any]:
    settings = _settings(request)
    return {
        "form": shown,
        "lead_fields": ctx.template.lead_fields,
        "dispositions": ctx.template.dispositions,
        "example": example_csv(ctx),
        "max_bytes": MAX_UPLOAD_BYTES,
        "max_mb": MAX_UPLOAD_BYTES // (1024 * 1024),
        "max_rows": settings.lead_request_max_rows,
        "batch_size": settings.lead_batch_size,
    }


def _campaign_page(
    request: Request,
    current: SignedIn,
    tenant: str,
    campaign_id: int,
    shown: LeadFilter | ImportForm,
    status: int = 200,
) -> Response:
    """The campaign through the lead service's own lookup: hidden reads exactly like missing."""
    try:
        with database_of(request).transaction() as session:
            chosen = picked_tenant(session, current, tenant or None)
            ctx = leads.campaign_context(session, current.principal, chosen, campaign_id)
            context = {
                "tenant_id": chosen.tenant_id,
                "campaign": service.campaign_view(session, ctx.campaign, chosen.tenant_id),
                "lead_count": _lead_counts(session, [ctx.campaign.pk]).get(ctx.campaign.pk, 0),
                "may_manage": may_manage(
                    current.principal, Target(Kind.CONTACT_CENTRE, ctx.tenant_pk)
                ).allowed,
                "zone": ctx.zone.key,
                "statuses": CAMPAIGN_STATUSES,
                "tab": "import" if isinstance(shown, ImportForm) else "leads",
            }
            if isinstance(shown, LeadFilter):
                context.update(_leads_tab(session, ctx, shown))
            else:
                context.update(_import_tab(request, ctx, shown))
    except SwitchboardError as error:
        return refusal(request, current, error)
    return page(request, "campaign.html", current, status, **context)


@router.get("/campaigns/{campaign_id}/")
def campaign_page(
    request: Request,
    campaign_id: int,
    tenant: str = "",
    tab: str = "leads",
    q: str = "",
    status: str = "",
    after: str = "",
) -> Response:
    """The campaign, and its leads (searched, a page at a time) or the Import tab."""
    current = console_page(request, Area.CAMPAIGNS)
    if isinstance(current, Response):
        return current
    if tab == "import":
        return _campaign_page(request, current, tenant, campaign_id, ImportForm())
    shown = LeadFilter(
        q=q.strip()[:100],
        status=status if status in LEAD_STATUSES else "",
        after=int(after) if after.isdigit() and len(after) < 19 else None,
    )
    return _campaign_page(request, current, tenant, campaign_id, shown)


@router.post("/campaigns/{campaign_id}/status")
async def change_status(request: Request, campaign_id: int, tenant: str) -> Response:
    """The API's update, status only: tenant administrators."""

    def work(session: Session, current: SignedIn, form: dict[str, str]) -> tuple[int, str]:
        changes = checked(CampaignUpdate, {"status": form.get("status", "")})
        campaign = service.update_campaign(session, current.principal, tenant, campaign_id, changes)
        return campaign.tenant_pk, campaign.status

    done = await console_action(request, work, area=Area.CAMPAIGNS)
    if isinstance(done, Response):
        return done
    current, (tenant_pk, status) = done
    audit_write(request, 200, f"campaign:{tenant}/{campaign_id}", tenant_pk)
    return notices.redirect(_campaign_url(campaign_id, tenant), current, f"Campaign status: {status}.")


# -- the import ------------------------------------------------------------------------------------


async def _drain(request: Request) -> None:
    """Read a refused upload to its end (up to a bound), so the browser shows the answer rather
    than a reset connection."""
    read = 0
    async for chunk in request.stream():
        read += len(chunk)
        if read > _DRAIN_AT_MOST:
            break


@dataclass(frozen=True, slots=True)
class _Prepared:
    lead_file: LeadFile


def _prepare(
    request: Request, current: SignedIn, tenant: str, campaign_id: int, upload: UploadFile, update: bool
) -> _Prepared:
    """The campaign (404 when hidden) and every row of the file, read before anything is written."""
    with database_of(request).transaction() as session:
        chosen = picked_tenant(session, current, tenant or None)
        ctx = leads.campaign_context(session, current.principal, chosen, campaign_id)
    if not upload.filename:
        raise FileRefused("Choose a CSV file to import.")
    if (upload.size or 0) > MAX_UPLOAD_BYTES:
        raise FileRefused(_too_big())
    lead_file = read_lead_file(upload.file, ctx, update, _settings(request).lead_request_max_rows)
    return _Prepared(lead_file)


def _too_big() -> str:
    return f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB: split it into smaller files."


def _import_url(campaign_id: int, run_id: str, tenant_id: str) -> str:
    return f"/console/campaigns/{campaign_id}/imports/{run_id}?{urlencode({'tenant': tenant_id})}"


@router.post("/campaigns/{campaign_id}/import")
async def import_leads(request: Request, campaign_id: int, tenant: str = "") -> Response:
    """Checks the session, the upload's size, the form's token, the campaign and the whole file
    first; then starts the import (through the API's lead service) and answers with a redirect to
    its page (post/redirect/get: reloading that page shows the import again, never repeats it)."""
    current = await console_page_async(request, Area.CAMPAIGNS)
    if isinstance(current, Response):
        return current
    declared = request.headers.get("content-length", "")
    if not declared.isdigit():
        return refused(request, current, "Length Required", "Send the file as a form upload.", 411)
    if int(declared) > MAX_UPLOAD_BYTES + _FORM_OVERHEAD:
        await _drain(request)
        shown = ImportForm(error=_too_big())
        return await run_in_threadpool(_campaign_page, request, current, tenant, campaign_id, shown, 413)
    try:
        return await _import_checked(request, current, tenant, campaign_id)
    except HTTPException:  # Starlette's answer to a malformed multipart body
        return refused(request, current, "Bad Request", "The form could not be read: send it again.", 400)
    finally:
        await request.close()  # the upload's temporary file: its rows are read by now


async def _import_checked(request: Request, current: SignedIn, tenant: str, campaign_id: int) -> Response:
    form = await form_of(request, current)
    if isinstance(form, Response):
        return form
    upload = (await request.form()).get("file")
    choices = ImportForm(
        update=form.get("mode") == "update",
        allow_duplicates="allow_duplicates" in form,
        allocation=str(form.get("allocation") or "").strip(),
    )
    if not isinstance(upload, UploadFile) or len(choices.allocation) > allocations.MAX_NAME:
        problem_text = (
            "Choose a CSV file to import."
            if not isinstance(upload, UploadFile)
            else f"The allocation's name is at most {allocations.MAX_NAME} characters."
        )
        shown = replace(choices, error=problem_text)
        return await run_in_threadpool(_campaign_page, request, current, tenant, campaign_id, shown, 400)
    try:
        prepared = await run_in_threadpool(
            _prepare, request, current, tenant, campaign_id, upload, choices.update
        )
        return await run_in_threadpool(
            _start_import, request, current, tenant, campaign_id, choices, upload.filename or "", prepared
        )
    except SwitchboardError as error:
        return refusal(request, current, error)
    except FileRefused as problem:
        shown = replace(choices, error=str(problem))
        return await run_in_threadpool(_campaign_page, request, current, tenant, campaign_id, shown, 400)


def _start_import(
    request: Request,
    current: SignedIn,
    tenant: str,
    campaign_id: int,
    choices: ImportForm,
    file_name: str,
    prepared: _Prepared,
) -> Response:
    """The run's row (committed: any worker can show it), then its rows written in the background."""
    rows = prepared.lead_file.rows
    with database_of(request).transaction() as session:
        chosen = picked_tenant(session, current, tenant or None)
        ctx = leads.campaign_context(session, current.principal, chosen, campaign_id)
        run = lead_imports.create_run(
            session, current.principal, ctx.campaign, file_name, choices.update, len(rows)
        )
    batch = leads.update_batch if choices.update else leads.insert_batch
    writer = services_of(request).lead_writer

    def write(on_batch: Callable[[list[leads.RowResult]], None]) -> list[leads.RowResult]:
        results = writer.write(
            current.principal,
            chosen.tenant_id,
            campaign_id,
            rows,
            batch,
            choices.allow_duplicates,
            on_batch=on_batch,
            allocation=choices.allocation or None,
        )
        audit_write(request, 200, audit_object(campaign_id, batch, results), None)
        return results

    lead_imports.start(database_of(request), run, prepared.lead_file.lines, write)
    return RedirectResponse(_import_url(campaign_id, run.run_id, chosen.tenant_id), status_code=303)


@router.get("/campaigns/{campaign_id}/imports/{run_id}")
def import_page(request: Request, campaign_id: int, run_id: str, tenant: str = "") -> Response:
    """One import: its progress while it runs (the page refreshes itself), then its outcome.
    Whoever sees the campaign sees its imports; anyone else gets the same 404 as for a missing one."""
    current = console_page(request, Area.CAMPAIGNS)
    if isinstance(current, Response):
        return current
    try:
        with database_of(request).transaction() as session:
            chosen = picked_tenant(session, current, tenant or None)
            ctx = leads.campaign_context(session, current.principal, chosen, campaign_id)
            run = lead_imports.find_run(session, current.principal, ctx.campaign, run_id)
            campaign = service.campaign_view(session, ctx.campaign, chosen.tenant_id)
    except SwitchboardError as error:
        return refusal(request, current, error)
    return page(
        request,
        "lead_import.html",
        current,
        tenant_id=chosen.tenant_id,
        campaign=campaign,
        run=run_view(run, lead_imports.status_of(run)),
        batch_size=_settings(request).lead_batch_size,
        refresh_seconds=IMPORT_REFRESH_SECONDS,
    )
