"""What every console page shares: the signed-in account (or a redirect to sign in), CSRF-checked
forms, security headers, and refusals as pages (the API's status, its message, no stack trace)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from switchboard.access.policy import Area, require_area
from switchboard.audit.recording import audit_refusal
from switchboard.console import notices, sessions
from switchboard.console.forms import BLANK, FORM_STATUSES, ShowAgain, refused_form, schema_problem
from switchboard.console.nav import sections_for, shown_section
from switchboard.directory.models import Tenant
from switchboard.directory.service import find_tenant
from switchboard.errors import BadRequest, SwitchboardError
from switchboard.kit.schemas import Schema
from switchboard.web.state import database_of

T = TypeVar("T")
M = TypeVar("M", bound=Schema)

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))

# Every console page: never cached, never framed, nothing loaded from elsewhere.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}
EXPIRED_FORM = "The form has expired or did not come from this site: reload it."
NEW_KEY_PAGE = "/console/new-key"


def show_new_key_next(
    session: Session,
    current: sessions.SignedIn,
    *,
    what: str,
    name: str,
    key: str,
    holder_note: str,
    back: tuple[str, str],
    noun: str = "key",
) -> None:
    """Post/redirect/get for a form that makes a key (or a password: `noun`): it is kept (sealed, in
    this transaction) for the page the redirect to NEW_KEY_PAGE leads to, which shows it once; a
    reload makes nothing."""
    back_url, back_label = back
    sessions.keep_once(
        session,
        current.secret,
        {
            "what": what,
            "key": {"name": name, "key": key},
            "holder_note": holder_note,
            "back_url": back_url,
            "back_label": back_label,
            "noun": noun,
        },
    )


def to_new_key(current: sessions.SignedIn, notice: str) -> Response:
    return notices.redirect(NEW_KEY_PAGE, current, notice)


def page(
    request: Request,
    template_name: str,
    current: sessions.SignedIn | None = None,
    status: int = 200,
    **context: Any,
) -> Response:
    """A console page; a notice a change left for it (notices.leave) is shown, then forgotten."""
    notice = None
    if current is not None:
        nav = sections_for(current.principal)
        context.update(
            signed_in=current,
            csrf=sessions.csrf_token(current.secret),
            nav=nav,
            nav_current=shown_section(nav, request.url.path),
        )
        notice = notices.take(request, current)
    context.setdefault("filled", BLANK)
    response = templates.TemplateResponse(
        request, template_name, {**context, "notice": notice}, status_code=status
    )
    response.headers.update(PAGE_HEADERS)
    if notices.COOKIE in request.cookies:
        notices.forget(response)
    return response


def refused(
    request: Request, current: sessions.SignedIn | None, title: str, message: str, status: int
) -> Response:
    return page(request, "refused.html", current, status, title=title, message=message)


def refusal(request: Request, current: sessions.SignedIn | None, error: SwitchboardError) -> Response:
    """A service's refusal as a page: a 404 reads exactly like "missing", as in the API; the
    real reason goes to the audit log, as the API's refusals do."""
    audit_refusal(request, error)
    return refused(request, current, error.title, error.detail, error.status)


def console_page(request: Request, area: Area | None = None) -> sessions.SignedIn | Response:
    """The signed-in account, or a redirect to the sign-in page; with `area`, a refusal page
    unless the account may reach that area of the API (the console's pages are its views)."""
    secret = request.cookies.get(sessions.COOKIE)
    found = None
    if secret:
        with database_of(request).transaction() as session:
            found = sessions.resolve(session, secret)
    if found is None:
        return RedirectResponse("/console/sign-in", status_code=303)
    request.state.principal = found.principal  # for the audit log
    if area is not None:
        try:
            require_area(found.principal, area)
        except SwitchboardError as error:
            return refusal(request, found, error)
    return found


async def console_page_async(request: Request, area: Area | None = None) -> sessions.SignedIn | Response:
    """console_page for async routes (the session lookup runs off the event loop)."""
    return await run_in_threadpool(console_page, request, area)


async def form_of(request: Request, current: sessions.SignedIn) -> dict[str, str] | Response:
    """The posted form, if it carries the session's CSRF token; else a 403 page."""
    form = {key: value for key, value in (await request.form()).items() if isinstance(value, str)}
    if not sessions.csrf_ok(current.secret, form.get("csrf")):
        return refused(request, current, "Refused", EXPIRED_FORM, 403)
    return form


async def _signed_form(
    request: Request, area: Area | None
) -> tuple[sessions.SignedIn, dict[str, str]] | Response:
    """A post's signed-in account and its CSRF-checked form, or the page that refuses it."""
    current = await console_page_async(request, area)
    if isinstance(current, Response):
        return current
    form = await form_of(request, current)
    return form if isinstance(form, Response) else (current, form)


async def console_action(
    request: Request,
    work: Callable[[Session, sessions.SignedIn, dict[str, str]], T],
    again: ShowAgain | None = None,
    area: Area | None = None,
) -> tuple[sessions.SignedIn, T] | Response:
    """A form post: the signed-in account, its CSRF-checked form, and `work` run in one unit of
    work off the event loop; a service's refusal becomes a page. With `again`, a refusal of what
    was typed (400, 409, 422) instead shows the form again with what was typed, each problem in
    words next to its input, under the refusal's status. `area`: as console_page's."""
    signed = await _signed_form(request, area)
    if isinstance(signed, Response):
        return signed
    current, form = signed

    def run() -> T:
        with database_of(request).transaction() as session:
            return work(session, current, form)

    try:
        return current, await run_in_threadpool(run)
    except SwitchboardError as error:
        return await _refused(request, current, form, error, again)


async def console_action_async(
    request: Request,
    work: Callable[[sessions.SignedIn, dict[str, str]], Awaitable[T]],
    again: ShowAgain | None = None,
) -> tuple[sessions.SignedIn, T] | Response:
    """console_action for async services (call control): `work` runs on the event loop and opens
    its own transactions (never one held across a PBX call)."""
    signed = await _signed_form(request, None)
    if isinstance(signed, Response):
        return signed
    current, form = signed
    try:
        return current, await work(current, form)
    except SwitchboardError as error:
        return await _refused(request, current, form, error, again)


async def _refused(
    request: Request,
    current: sessions.SignedIn,
    form: dict[str, str],
    error: SwitchboardError,
    again: ShowAgain | None,
) -> Response:
    """A refusal as a page; with `again`, a refusal of what was typed (400, 409, 422) shows the
    form again instead, as typed, each problem in words at its input, under the refusal's status."""
    if again is None or error.status not in FORM_STATUSES:
        return refusal(request, current, error)
    filled = refused_form(again, form, error)
    response = await run_in_threadpool(again.page, current, filled)
    if response.status_code == 200:  # else the page itself was refused (e.g. 404): that answer
        response.status_code = error.status
    return response


def picked_tenant(session: Session, current: sessions.SignedIn, tenant_id: str | None) -> Tenant:
    """tenant_in_view for pages about one object of a tenant: a system account must name it."""
    chosen = tenant_in_view(session, current, tenant_id)
    if chosen is None:
        raise BadRequest.field("tenant", "pick a tenant")
    return chosen


def tenant_in_view(session: Session, current: sessions.SignedIn, tenant_id: str | None) -> Tenant | None:
    """The tenant a page is about: the one named (if visible: 404 otherwise), else the signed-in
    account's own; None when a system account has not picked one yet."""
    if tenant_id:
        return find_tenant(session, current.principal, tenant_id)
    if current.principal.tenant_pk is not None:
        return session.get(Tenant, current.principal.tenant_pk)
    return None


def checked(model: type[M], data: dict[str, Any]) -> M:
    """A schema from form values; its errors as the 400 the API would give, each in words."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise schema_problem(exc) from exc
