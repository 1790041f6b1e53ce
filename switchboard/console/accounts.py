"""Users | Accounts: the list with search and a New account form, an account's page (its details,
changed, its password reset, disabled and enabled) in Basic or Advanced mode, and the Security
tab's API keys (Advanced mode: "Select the 'Security' tab and click the 'Create API Key'"). Every
read and write goes through the access services the API's routes use, with the same rules."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from sqlalchemy import update
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from switchboard.access import accounts, api_keys
from switchboard.access.models import Account
from switchboard.access.passwords import generate_password
from switchboard.access.policy import Area, Placement, may_manage_account
from switchboard.access.principal import Principal
from switchboard.access.schemas import KEY_SCOPES, AccountCreate, AccountUpdate, ApiKeyCreate, ApiKeyUpdate
from switchboard.audit.recording import audit_write
from switchboard.console import notices
from switchboard.console.contact_centre import visible_tenants
from switchboard.console.forms import BLANK, Filled, Input, ShowAgain
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
# The roles the console makes accounts of; a reseller admin is made on its reseller (the API's
# /resellers/{name}/admins/), by the system only.
CONSOLE_ROLES = ("system", "tenant_admin", "group_admin", "user")
ANY_TENANT = 0  # a placement "in some tenant", to ask the policy which roles a principal may grant

ACCOUNT_FIELDS = {
    "username": Input("username", "Username"),
    "password": Input("password", "Password"),
    "displayName": Input("display_name", "Name"),
    "email": Input("email", "Email"),
    "role": Input("role", "Role"),
    "tenantId": Input("tenant", "Tenant"),
    "groupId": Input("group", "Group"),
    "linkedUserId": Input("linked_user", "Linked end user"),
    "enabled": Input("enabled", "Enabled"),
}
KEY_FIELDS = {
    "name": Input("name", "Name"),
    "expiresAt": Input("expires_on", "Stops working on"),
    "expires_on": Input("expires_on", "Stops working on"),
    "ipAllowlist": Input("allow", "Allowed from"),
    "scopes": Input("scopes", "Scopes"),
}


def _account_url(username: str, tab: str = "") -> str:
    return f"/console/accounts/{quote(username)}/" + (f"?tab={tab}" if tab else "")


def grantable_roles(principal: Principal) -> list[str]:
    """The roles the New account form offers: those the policy lets the principal grant in its own
    scope (the service decides again on the account as placed)."""
    tenant_pk = principal.tenant_pk if principal.tenant_pk is not None else ANY_TENANT
    return [
        role
        for role in CONSOLE_ROLES
        if may_manage_account(
            principal,
            Placement(role, tenant_pk, principal.group_pk, principal.reseller_pk),  # type: ignore[arg-type]
        )
    ]


def _list_page(request: Request, current: SignedIn, q: str, after: str, filled: Filled = BLANK) -> Response:
    prefix = q.strip().lower()[:64] or None
    with database_of(request).transaction() as session:
        rows, total = accounts.list_accounts(
            session, current.principal, after.lower()[:64] or None, DEFAULT_LIMIT, prefix
        )
        items = [accounts.account_view(session, row) for row in rows[:DEFAULT_LIMIT]]
        tenants = visible_tenants(session, current) if current.principal.tenant_pk is None else []
        own = accounts.account_view(session, session.get_one(Account, current.principal.account_pk or 0))
    more = len(rows) > DEFAULT_LIMIT
    next_page = f"?q={quote(q)}&after={quote(items[-1]['username'].lower())}" if more and items else None
    return page(
        request,
        "accounts.html",
        current,
        items=items,
        total=total,
        q=q,
        next_page=next_page,
        roles=grantable_roles(current.principal),
        tenants=tenants,
        own=own,
        filled=filled,
    )


@router.get("/accounts/")
def account_list(request: Request, q: str = "", after: str = "") -> Response:
    current = console_page(request)
    if isinstance(current, Response):
        return current
    return _list_page(request, current, q, after)


def _mode_of(request: Request, account_pk: int | None) -> str:
    if account_pk is None:
        return "basic"
    with database_of(request).transaction() as session:
        return session.get_one(Account, account_pk).console_mode


def _account_page(
    request: Request, current: SignedIn, username: str, tab: str, filled: Filled = BLANK
) -> Response:
    try:
        with database_of(request).transaction() as session:
            account = accounts.find_account(session, current.principal, username)
            view = accounts.account_view(session, account)
            rights = api_keys.key_rights(session, current.principal, account)
            is_self = account.pk == current.principal.account_pk
            may_edit = is_self or may_manage_account(
                current.principal, accounts.placement_of(session, account)
            )
            tenants = visible_tenants(session, current) if current.principal.tenant_pk is None else []
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
    if (mode != "advanced" and not filled.sent) or not rights.see:
        # the Security tab is an Advanced-mode tab, for who may see the keys (a key form sent
        # comes back to it)
        tab = "details"
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
        is_self=is_self,
        may_edit=may_edit,
        roles=sorted({*grantable_roles(current.principal), view["role"]}, key=_role_order),
        tenants=tenants,
        filled=filled,
    )


def _role_order(role: str) -> int:
    return CONSOLE_ROLES.index(role) if role in CONSOLE_ROLES else -1


@router.get("/accounts/{username}/")
def account_page(request: Request, username: str, tab: str = "details") -> Response:
    current = console_page(request)
    if isinstance(current, Response):
        return current
    return _account_page(request, current, username, tab)


# -- an account: made, changed, its password, disabled and enabled --------------------------------


def _optional(form: dict[str, str], name: str) -> str | None:
    return form.get(name, "").strip() or None


def _show_password_next(
    session: Session, current: SignedIn, username: str, password: str, what: str, note: str
) -> None:
    """A generated password, shown once on the page after (as a new key is)."""
    show_new_key_next(
        session,
        current,
        what=what,
        name=username,
        key=password,
        holder_note=f"whoever holds it signs in as {username}; {note}",
        back=(_account_url(username), f"Go to {username}"),
        noun="password",
    )


@router.post("/accounts/")
async def create_account(request: Request) -> Response:
    """The API's create (accounts.create_account). Left empty, the password is generated and shown
    once on the page after."""

    def work(session: Session, current: SignedIn, form: dict[str, str]) -> tuple[str, int | None, bool]:
        typed = form.get("password", "")
        password = typed or generate_password()
        fields = {
            "username": form.get("username", ""),
            "password": password,
            "displayName": form.get("display_name", ""),
            "email": form.get("email", ""),
            "role": form.get("role", ""),
            "tenantId": _optional(form, "tenant"),
            "groupId": _optional(form, "group"),
            "linkedUserId": _optional(form, "linked_user"),
        }
        data = checked(AccountCreate, fields)
        account = accounts.create_account(session, current.principal, data)
        if not typed:
            note = "they may change it once signed in."
            _show_password_next(session, current, account.username, password, "Account", note)
        return account.username, account.tenant_pk, not typed

    def again(current: SignedIn, filled: Filled) -> Response:
        return _list_page(request, current, "", "", filled)

    done = await console_action(
        request, work, ShowAgain("new-account", ACCOUNT_FIELDS, again, conflict="username"), Area.ACCOUNTS
    )
    if isinstance(done, Response):
        return done
    current, (username, tenant_pk, generated) = done
    audit_write(request, 201, f"account:{username}", tenant_pk)
    if generated:
        return to_new_key(current, f"Account '{username}' created.")
    return notices.redirect(_account_url(username), current, f"Account '{username}' created.")


CASELESS = frozenset({"tenantId", "groupId", "linkedUserId"})  # ids: any case names the same one


def _changes(form: dict[str, str], now: dict[str, Any]) -> dict[str, Any]:
    """The details form as an account PATCH: only what differs from the account now (so a field
    left as it was asks for no right, as in the API). An emptied tenant, group or link clears it."""
    wanted = {
        "displayName": form.get("display_name"),
        "email": form.get("email"),
        "role": form.get("role"),
        "tenantId": form.get("tenant"),  # absent when the page offers no tenant to pick
        "groupId": form.get("group"),
        "linkedUserId": form.get("linked_user"),
    }
    changes: dict[str, Any] = {}
    for name, value in wanted.items():
        if value is None:
            continue
        value, was = value.strip(), now[name] or ""
        same = value.lower() == was.lower() if name in CASELESS else value == was
        if not same:
            # The API's PATCH clears a scope or link with null (accounts.CLEARABLE) but reads null
            # as "unchanged" for a name or email, which an empty string clears.
            changes[name] = (value or None) if name in CASELESS else value
    return changes


async def _account_change(
    request: Request,
    username: str,
    fields: Callable[[dict[str, str], dict[str, Any]], dict[str, Any]],
    done_words: str,
    form_name: str,
) -> Response:
    """A form of the account's page as the API's PATCH (accounts.update_account), audited like it."""

    def work(session: Session, current: SignedIn, form: dict[str, str]) -> int | None:
        account = accounts.find_account(session, current.principal, username)
        changes = fields(form, accounts.account_view(session, account))
        updated = accounts.update_account(
            session, current.principal, username, checked(AccountUpdate, changes)
        )
        return updated.tenant_pk

    def again(current: SignedIn, filled: Filled) -> Response:
        return _account_page(request, current, username, "details", filled)

    done = await console_action(request, work, ShowAgain(form_name, ACCOUNT_FIELDS, again), Area.ACCOUNTS)
    if isinstance(done, Response):
        return done
    current, tenant_pk = done
    audit_write(request, 200, f"account:{username}", tenant_pk)
    return notices.redirect(_account_url(username), current, done_words)


@router.post("/accounts/{username}/")
async def save_account(request: Request, username: str) -> Response:
    return await _account_change(request, username, _changes, f"Account '{username}' saved.", "details")


@router.post("/accounts/{username}/enabled")
async def set_enabled(request: Request, username: str) -> Response:
    """Disable (its keys, tokens and sessions stop working at once) or enable again."""
    enable = (await request.form()).get("enabled") == "on"  # for the notice; the work reads it too

    def fields(form: dict[str, str], now: dict[str, Any]) -> dict[str, Any]:
        return {"enabled": form.get("enabled") == "on"}

    words = f"Account '{username}' {'enabled' if enable else 'disabled'}."
    return await _account_change(request, username, fields, words, "enabled")


@router.post("/accounts/{username}/password")
async def reset_password(request: Request, username: str) -> Response:
    """A password typed, or (the "Generate" button) one made and shown once; the account's other
    sign-ins end, as with the API."""

    def work(session: Session, current: SignedIn, form: dict[str, str]) -> tuple[int | None, bool]:
        generate = form.get("action") == "generate"
        password = generate_password() if generate else form.get("password", "")
        changes = checked(AccountUpdate, {"password": password})
        account = accounts.update_account(session, current.principal, username, changes)
        if generate:
            note = "its other sign-ins were ended."
            _show_password_next(session, current, account.username, password, "New password", note)
        return account.tenant_pk, generate

    def again(current: SignedIn, filled: Filled) -> Response:
        return _account_page(request, current, username, "details", filled)

    done = await console_action(request, work, ShowAgain("password", ACCOUNT_FIELDS, again), Area.ACCOUNTS)
    if isinstance(done, Response):
        return done
    current, (tenant_pk, generated) = done
    audit_write(request, 200, f"account:{username} password", tenant_pk)
    words = f"Password of '{username}' changed; its other sign-ins were ended."
    if generated:
        return to_new_key(current, words)
    return notices.redirect(_account_url(username), current, words)


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


# -- API keys (the Security tab) -------------------------------------------------------------------


def _key_fields(form: dict[str, str], current_expiry: str | None = None) -> dict[str, Any]:
    """The key form as the API's fields. The expiry is a date ("stops working on", 00:00 UTC);
    left at the key's current date, the exact current expiry is kept."""
    fields: dict[str, Any] = {
        "name": form.get("name", ""),
        "ipAllowlist": [
            entry.strip() for entry in form.get("allow", "").replace("\n", ",").split(",") if entry.strip()
        ],
        "scopes": [scope for scope in KEY_SCOPES if form.get(f"scope_{scope}")],
    }
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
    current = console_page(request)
    if isinstance(current, Response):
        return current
    return _key_page(request, current, username, key_id, "key_edit.html")


def _key_page(
    request: Request,
    current: SignedIn,
    username: str,
    key_id: int,
    template_name: str,
    filled: Filled = BLANK,
) -> Response:
    try:
        with database_of(request).transaction() as session:
            key = _key_of(session, current, username, key_id)
    except SwitchboardError as error:
        return refusal(request, current, error)
    return page(request, template_name, current, key=key, username=username, scopes=KEY_SCOPES, filled=filled)


@router.post("/accounts/{username}/api-keys/{key_id}/")
async def save_key(request: Request, username: str, key_id: int) -> Response:
    def work(session: Session, current: SignedIn, form: dict[str, str]) -> tuple[int | None, str]:
        key = _key_of(session, current, username, key_id)
        changes = checked(ApiKeyUpdate, _key_fields(form, key["expiresAt"]))
        row = api_keys.update_api_key(session, current.principal, username, key_id, changes)
        return accounts.find_account(session, current.principal, username).tenant_pk, row.name

    def again(current: SignedIn, filled: Filled) -> Response:
        return _key_page(request, current, username, key_id, "key_edit.html", filled)

    done = await console_action(request, work, ShowAgain("key", KEY_FIELDS, again))
    if isinstance(done, Response):
        return done
    current, (tenant_pk, name) = done
    audit_write(request, 200, f"api_key:{username}/{key_id}", tenant_pk)
    return notices.redirect(_account_url(username, "security"), current, f"Key '{name}' saved.")


@router.post("/accounts/{username}/api-keys")
async def create_key(request: Request, username: str) -> Response:
    """Makes the key, then redirects to the page that shows it once, with a copy button and a
    warning; never again (a reload of that page makes no second key)."""

    def work(session: Session, current: SignedIn, form: dict[str, str]) -> tuple[int, int | None, str]:
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
            back=(_account_url(username, "security"), "Back to the Security tab"),
        )
        return row.pk, tenant_pk, row.name

    def again(current: SignedIn, filled: Filled) -> Response:
        return _account_page(request, current, username, "security", filled)

    done = await console_action(request, work, ShowAgain("new-key", KEY_FIELDS, again))
    if isinstance(done, Response):
        return done
    current, (key_pk, tenant_pk, name) = done
    audit_write(request, 201, f"api_key:{username}/{key_pk}", tenant_pk)
    return to_new_key(current, f"Key '{name}' created.")


@router.get("/accounts/{username}/api-keys/{key_id}/revoke")
def confirm_revoke(request: Request, username: str, key_id: int) -> Response:
    current = console_page(request)
    if isinstance(current, Response):
        return current
    return _key_page(request, current, username, key_id, "revoke_confirm.html")


@router.post("/accounts/{username}/api-keys/{key_id}/revoke")
async def revoke_key(request: Request, username: str, key_id: int) -> Response:
    def work(session: Session, current: SignedIn, form: dict[str, str]) -> tuple[int | None, str]:
        row = api_keys.revoke_api_key(session, current.principal, username, key_id)
        return accounts.find_account(session, current.principal, username).tenant_pk, row.name

    done = await console_action(request, work)
    if isinstance(done, Response):
        return done
    current, (tenant_pk, name) = done
    audit_write(request, 204, f"api_key:{username}/{key_id}", tenant_pk)
    return notices.redirect(_account_url(username, "security"), current, f"Key '{name}' revoked.")
