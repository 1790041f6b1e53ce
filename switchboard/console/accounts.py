"""Users | Accounts: the list with search, an account's page in Basic or Advanced mode, and the
Security tab's API keys (Noojee's API-key page: "Switch to 'Advanced' mode ... Select the 'Security' tab and
click the 'Create API Key'"). Every read and write goes through the access services."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from sqlalchemy import update
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from switchboard.access import accounts, api_keys
from switchboard.access.models import Account
from switchboard.access.schemas import KEY_SCOPES, ApiKeyCreate, ApiKeyUpdate
from switchboard.audit.recording import audit_write
from switchboard.console.pages import (
    checked,
    console_action,
    console_page,
    page,
    refusal,
    show_new_key_next,
    to_new_key,
)
from switchboard.console.sessions import SignedIn
from switchboard.errors import BadRequest, NotFound, SwitchboardError
from switchboard.kit.pagination import DEFAULT_LIMIT
from switchboard.web.state import database_of

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
            rights = api_keys.key_rights(session, current.principal, account)
            keys = (
                [
                    api_keys.key_view(row)
                    for row in api_keys.list_api_keys(session, current.principal, username)
                ]
                if tab == "security" and rights.see
                else []
            )
    except SwitchboardError as error:
        return refusal(request, current, error)
    mode = _mode_of(request, current.principal.account_pk)
    if mode != "advanced" or not rights.see:
        tab = "details"  # the Security tab is an Advanced-mode tab, for who may see the keys
    return page(
        request,
        "account.html",
        current,
        account=view,
        keys=keys,
        key_rights=rights,
        mode=mode,
        tab=tab,
        scopes=KEY_SCOPES,
    )


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


def _key_fields(form: dict[str, str], current_expiry: str | None = None) -> dict[str, Any]:
    """The key form as the API's fields. The expiry is a date ("stops working on", 00:00 UTC);
    left at the key's current date, the exact current expiry is kept."""
    fields: dict[str, Any] = {
        "name": form.get("name", ""),
        "ipAllowlist": [
            entry for entry in form.get("allow", "").replace("\n", ",").split(",") if entry.strip()
        ],
        "scopes": [scope for scope in KEY_SCOPES if form.get(f"scope_{scope}")],
    }
    if not fields["scopes"]:
        raise BadRequest.field("scopes", "choose at least one of " + ", ".join(KEY_SCOPES))
    day = form.get("expires_on", "").strip()
    if current_expiry is not None and day == current_expiry[:10]:
        return fields
    try:
        fields["expiresAt"] = datetime.combine(date.fromisoformat(day), time(0), UTC) if day else None
    except ValueError as exc:
        raise BadRequest.field("expires_on", "a date such as 2027-01-31, or empty for never") from exc
    return fields


def _key_of(session: Session, current: SignedIn, username: str, key_id: int) -> dict[str, Any]:
    rows = api_keys.list_api_keys(session, current.principal, username)
    key = next((api_keys.key_view(row) for row in rows if row.pk == key_id), None)
    if key is None:
        raise NotFound(f"key {key_id} of {username}")
    return key


@router.get("/accounts/{username}/api-keys/{key_id}/")
def key_page(request: Request, username: str, key_id: int) -> Response:
    """A key's settings: name, expiry, scopes and IP allowlist (never the key itself)."""
    return _key_page(request, username, key_id, "key_edit.html")


def _key_page(request: Request, username: str, key_id: int, template_name: str) -> Response:
    current = console_page(request)
    if isinstance(current, Response):
        return current
    try:
        with database_of(request).transaction() as session:
            key = _key_of(session, current, username, key_id)
    except SwitchboardError as error:
        return refusal(request, current, error)
    return page(request, template_name, current, key=key, username=username, scopes=KEY_SCOPES)


@router.post("/accounts/{username}/api-keys/{key_id}/")
async def save_key(request: Request, username: str, key_id: int) -> Response:
    def work(session: Session, current: SignedIn, form: dict[str, str]) -> int | None:
        key = _key_of(session, current, username, key_id)
        changes = checked(ApiKeyUpdate, _key_fields(form, key["expiresAt"]))
        api_keys.update_api_key(session, current.principal, username, key_id, changes)
        return accounts.find_account(session, current.principal, username).tenant_pk

    def invalid(current: SignedIn, form: dict[str, str], error: SwitchboardError) -> Response:
        with database_of(request).transaction() as session:
            key = _key_of(session, current, username, key_id)
        typed = {**key, "name": form.get("name", ""), "ipAllowlist": _key_fields(form)["ipAllowlist"]}
        return page(
            request,
            "key_edit.html",
            current,
            error.status,
            key=typed,
            username=username,
            scopes=KEY_SCOPES,
            error=error.detail,
        )

    done = await console_action(request, work, invalid)
    if isinstance(done, Response):
        return done
    audit_write(request, 200, f"api_key:{username}/{key_id}", done[1])
    return RedirectResponse(f"/console/accounts/{quote(username)}/?tab=security", status_code=303)


@router.post("/accounts/{username}/api-keys")
async def create_key(request: Request, username: str) -> Response:
    """Makes the key, then redirects to the page that shows it once, with a copy button and a
    warning; never again (a reload of that page makes no second key)."""

    def work(session: Session, current: SignedIn, form: dict[str, str]) -> tuple[int, int | None]:
        data = checked(ApiKeyCreate, _key_fields(form))
        row, key = api_keys.create_api_key(session, current.principal, username, data)
        tenant_pk = accounts.find_account(session, current.principal, username).tenant_pk
        show_new_key_next(
            session,
            current,
            what="API key",
            name=row.name,
            key=key,
            holder_note=f"anyone holding it acts as {username} on the campaign endpoints.",
            back=(f"/console/accounts/{quote(username)}/?tab=security", "Back to the Security tab"),
        )
        return row.pk, tenant_pk

    done = await console_action(request, work)
    if isinstance(done, Response):
        return done
    key_pk, tenant_pk = done[1]
    audit_write(request, 201, f"api_key:{username}/{key_pk}", tenant_pk)
    return to_new_key()


@router.get("/accounts/{username}/api-keys/{key_id}/revoke")
def confirm_revoke(request: Request, username: str, key_id: int) -> Response:
    return _key_page(request, username, key_id, "revoke_confirm.html")


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
