"""Users | Accounts: the list with search, an account's page in Basic or Advanced mode, and the
Security tab's API keys (seed 000: "Switch to 'Advanced' mode ... Select the 'Security' tab and
click the 'Create API Key'"). Every read and write goes through the access services."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from sqlalchemy import update
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from switchboard.access import accounts, api_keys
from switchboard.access.models import Account
from switchboard.access.schemas import ApiKeyCreate
from switchboard.audit.recording import audit_write
from switchboard.console.pages import checked, console_action, console_page, page, refusal
from switchboard.console.sessions import SignedIn
from switchboard.db.base import utcnow
from switchboard.db.engine import database_of
from switchboard.errors import BadRequest, NotFound, SwitchboardError
from switchboard.pagination import DEFAULT_LIMIT

router = APIRouter(prefix="/console", include_in_schema=False)
MODES = ("basic", "advanced")


@router.get("/accounts/")
def account_list(request: Request, q: str = "", after: str = "") -> Response:
    current = console_page(request)
    if isinstance(current, Response):
        return current
    prefix = q.strip().lower()[:64] or None
    with database_of(request).transaction() as session:
        rows, total = accounts.list_accounts(
            session, current.principal, after.lower()[:64] or None, DEFAULT_LIMIT, prefix
        )
        items = [accounts.account_view(session, row) for row in rows[:DEFAULT_LIMIT]]
    more = len(rows) > DEFAULT_LIMIT
    next_page = f"?q={quote(q)}&after={quote(items[-1]['username'].lower())}" if more and items else None
    return page(request, "accounts.html", current, items=items, total=total, q=q, next_page=next_page)


def _mode_of(request: Request, account_pk: int | None) -> str:
    if account_pk is None:
        return "basic"
    with database_of(request).transaction() as session:
        return session.get_one(Account, account_pk).console_mode


@router.get("/accounts/{username}/")
def account_page(request: Request, username: str, tab: str = "details") -> Response:
    current = console_page(request)
    if isinstance(current, Response):
        return current
    try:
        with database_of(request).transaction() as session:
            account = accounts.find_account(session, current.principal, username)
            view = accounts.account_view(session, account)
            keys = (
                [
                    api_keys.key_view(row)
                    for row in api_keys.list_api_keys(session, current.principal, username)
                ]
                if tab == "security"
                else []
            )
    except SwitchboardError as error:
        return refusal(request, current, error)
    mode = _mode_of(request, current.principal.account_pk)
    if mode != "advanced":
        tab = "details"  # the Security tab is an Advanced-mode tab
    return page(request, "account.html", current, account=view, keys=keys, mode=mode, tab=tab)


@router.post("/preferences/mode")
async def set_mode(request: Request) -> Response:
    """Basic / Advanced, remembered for the signed-in user."""

    def work(session: Session, current: SignedIn, form: dict[str, str]) -> str:
        mode, back = form.get("mode", ""), form.get("back", "/console/accounts/")
        if mode not in MODES or not back.startswith("/console/"):  # no open redirect
            raise BadRequest.field("mode", "basic or advanced, back to a console page")
        if current.principal.account_pk is not None:
            stmt = update(Account).where(Account.pk == current.principal.account_pk)
            session.execute(stmt.values(console_mode=mode))
        return back

    done = await console_action(request, work)
    return done if isinstance(done, Response) else RedirectResponse(done[1], status_code=303)


@router.post("/accounts/{username}/api-keys")
async def create_key(request: Request, username: str) -> Response:
    """Shows the new key once, with a copy button and a warning; never again."""

    def work(session: Session, current: SignedIn, form: dict[str, str]) -> tuple[dict[str, Any], int | None]:
        days = form.get("expires_days", "").strip()
        if days and not (days.isdigit() and 1 <= int(days) <= 3650):
            raise BadRequest.field("expires_days", "a number of days from 1 to 3650, or empty")
        allow = [
            entry.strip() for entry in form.get("allow", "").replace("\n", ",").split(",") if entry.strip()
        ]
        expires = utcnow() + timedelta(days=int(days)) if days else None
        data = checked(
            ApiKeyCreate, {"name": form.get("name", ""), "expiresAt": expires, "ipAllowlist": allow}
        )
        row, key = api_keys.create_api_key(session, current.principal, username, data)
        tenant_pk = accounts.find_account(session, current.principal, username).tenant_pk
        return api_keys.key_view(row, key), tenant_pk

    done = await console_action(request, work)
    if isinstance(done, Response):
        return done
    current, (view, tenant_pk) = done
    audit_write(request, 201, f"api_key:{username}/{view['id']}", tenant_pk)
    return page(request, "key_created.html", current, key=view, username=username)


@router.get("/accounts/{username}/api-keys/{key_id}/revoke")
def confirm_revoke(request: Request, username: str, key_id: int) -> Response:
    current = console_page(request)
    if isinstance(current, Response):
        return current
    try:
        with database_of(request).transaction() as session:
            rows = api_keys.list_api_keys(session, current.principal, username)
    except SwitchboardError as error:
        return refusal(request, current, error)
    key = next((api_keys.key_view(row) for row in rows if row.pk == key_id), None)
    if key is None:
        return refusal(request, current, NotFound(f"key {key_id} of {username}"))
    return page(request, "revoke_confirm.html", current, key=key, username=username)


@router.post("/accounts/{username}/api-keys/{key_id}/revoke")
async def revoke_key(request: Request, username: str, key_id: int) -> Response:
    def work(session: Session, current: SignedIn, form: dict[str, str]) -> int | None:
        api_keys.revoke_api_key(session, current.principal, username, key_id)
        return accounts.find_account(session, current.principal, username).tenant_pk

    done = await console_action(request, work)
    if isinstance(done, Response):
        return done
    audit_write(request, 204, f"api_key:{username}/{key_id}", done[1])
    return RedirectResponse(f"/console/accounts/{quote(username)}/?tab=security", status_code=303)
