"""System settings for system accounts: END_USER_NAME with a live preview, the default domain, the
IP allowlist (with a warning before a list that would lock out the current address) and global
key rotation; and each tenant's keys (for its administrators too). The same store functions as
/api/v1/settings/ and `switchboard keys rotate-global`, the same services as the tenant-keys API."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from switchboard.access import tenant_keys
from switchboard.access.models import TenantKey
from switchboard.access.policy import Area, require_area
from switchboard.access.schemas import MAX_TENANT_KEY_GRACE_SECONDS, TenantKeyCreate
from switchboard.audit.recording import audit_write
from switchboard.console import notices
from switchboard.console.contact_centre import tenant_page
from switchboard.console.forms import BLANK, Filled, Input, ShowAgain
from switchboard.console.nav import TENANT_KEYS
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
from switchboard.db.base import utcnow
from switchboard.directory.models import Tenant
from switchboard.errors import BadRequest, Conflict, SwitchboardError
from switchboard.system import store
from switchboard.system.bootstrap import rotate_global_key
from switchboard.web.state import database_of

router = APIRouter(prefix="/console", include_in_schema=False)

# Names the preview fills in: one short, one with characters a template must not mangle.
PREVIEW_NAMES = (("Ada", "Lovelace"), ("José", "Núñez-O'Brien"))
MAX_GRACE_HOURS = 24 * 30


class WouldLockOut(Conflict):
    """The new allowlist leaves out the address the change comes from."""


def _client(request: Request) -> str:
    # The perimeter has already resolved trusted proxies: this is the address the allowlist sees.
    return request.client.host if request.client else ""


def _covers(entries: list[str], address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(entry) for entry in entries)


def _preview(template: str) -> list[str]:
    return [store.render_end_user_name(template, first, last) for first, last in PREVIEW_NAMES]


def _global_keys(session: Session) -> list[dict[str, Any]]:
    """The global keys in force, by their first characters (never their digests)."""
    entries = store.read_setting(session, store.GLOBAL_API_KEYS) or []
    return [
        {"prefix": entry["prefix"], "createdAt": entry["createdAt"], "expiresAt": entry.get("expiresAt")}
        for entry in entries
    ]


def _settings_view(
    request: Request,
    current: SignedIn,
    status: int = 200,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    lock_out: list[str] | None = None,
) -> Response:
    """The settings page; `values` are what the form sent (kept when it is shown again)."""
    require_area(current.principal, Area.SETTINGS)
    with database_of(request).transaction() as session:
        saved = store.public_settings(session)
        allowlist = store.read_setting(session, store.IP_ALLOWLIST)
        global_keys = _global_keys(session)
    shown = {**saved, store.IP_ALLOWLIST: "\n".join(allowlist), **(values or {})}
    try:
        preview = _preview(store.check_end_user_name(shown[store.END_USER_NAME]))
    except BadRequest:
        preview = []
    return page(
        request,
        "settings.html",
        current,
        status,
        values=shown,
        errors=errors or {},
        preview=preview,
        client=_client(request),
        lock_out=lock_out,
        global_keys=global_keys,
        max_grace_hours=MAX_GRACE_HOURS,
    )


def _shown_again(request: Request, section: str, value_field: str, label: str) -> ShowAgain:
    """console_action's form coming back: the page again with what was typed, the words next to it."""
    typed_input = Input(value_field, label, "line")
    fields = {section: typed_input, value_field: typed_input, "entries": typed_input, "template": typed_input}

    def again(current: SignedIn, filled: Filled) -> Response:
        typed = filled.values.get(value_field, "")
        words = " ".join(filled.errors.values())
        warn = section == store.IP_ALLOWLIST and filled.status == WouldLockOut.status
        lock_out = store.normalise_allowlist(_lines(typed)) if warn else None
        return _settings_view(request, current, 200, {section: typed}, {section: words}, lock_out)

    return ShowAgain(section, fields, again)


def _lines(text: str) -> list[str]:
    """Allowlist entries typed one per line (or comma-separated)."""
    return [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]


@router.get("/settings/")
def settings_page(request: Request) -> Response:
    current = console_page(request)
    if isinstance(current, Response):
        return current
    try:
        return _settings_view(request, current)
    except SwitchboardError as error:
        return refusal(request, current, error)


@router.post("/settings/end-user-name")
async def save_end_user_name(request: Request) -> Response:
    """Save, or only preview (the "Preview" button, and the page's script as one types)."""
    form = await request.form()
    if form.get("action") != "preview":

        def change(session: Session, form: dict[str, str]) -> None:
            store.update_public_settings(session, {store.END_USER_NAME: form.get("template", "")})

        return await _save(request, store.END_USER_NAME, "template", "End user names", change)

    def work(session: Session, current: SignedIn, form: dict[str, str]) -> str:
        require_area(current.principal, Area.SETTINGS)
        return store.check_end_user_name(form.get("template", ""))

    done = await console_action(
        request, work, _shown_again(request, store.END_USER_NAME, "template", "End user names")
    )
    if isinstance(done, Response):
        return done
    current, template = done
    return await run_in_threadpool(_settings_view, request, current, values={store.END_USER_NAME: template})


async def _save(
    request: Request,
    section: str,
    field: str,
    label: str,
    change: Callable[[Session, dict[str, str]], None],
) -> Response:
    """One section's form: checked, changed, audited, then back to the page at that section."""

    def work(session: Session, current: SignedIn, form: dict[str, str]) -> None:
        require_area(current.principal, Area.SETTINGS)
        change(session, form)

    done = await console_action(request, work, _shown_again(request, section, field, label))
    if isinstance(done, Response):
        return done
    audit_write(request, 200, f"settings:{section}", None)
    return notices.redirect(f"/console/settings/#{section}", done[0], f"{label}: saved.")


@router.post("/settings/default-domain")
async def save_default_domain(request: Request) -> Response:
    def change(session: Session, form: dict[str, str]) -> None:
        store.update_public_settings(session, {store.DEFAULT_DOMAIN: form.get("domain", "")})

    return await _save(request, store.DEFAULT_DOMAIN, "domain", "Default domain", change)


@router.post("/settings/noojee-get")
async def save_noojee_get(request: Request) -> Response:
    def change(session: Session, form: dict[str, str]) -> None:
        store.update_public_settings(session, {store.NOOJEE_ACCEPT_GET: form.get("accept") == "on"})

    return await _save(request, store.NOOJEE_ACCEPT_GET, "accept", "Noojee methods over GET", change)


@router.post("/settings/ip-allowlist")
async def save_allowlist(request: Request) -> Response:
    """Refuses, with a warning and a "save anyway" button, a list without the current address."""
    client = _client(request)

    def change(session: Session, form: dict[str, str]) -> None:
        entries = store.normalise_allowlist(_lines(form.get("entries", "")))
        if not _covers(entries, client) and form.get("confirm") != "lock-out":
            raise WouldLockOut(
                f"Your address {client} is not in this list: once saved, this browser (and anything "
                "else at that address) is refused, the console included."
            )
        store.write_setting(session, store.IP_ALLOWLIST, entries)

    return await _save(request, store.IP_ALLOWLIST, "entries", "IP allowlist", change)


@router.post("/settings/global-key/rotate")
async def rotate_global(request: Request) -> Response:
    """A new global key, shown once on the page after; the keys in use now keep working for the grace
    period."""

    def work(session: Session, current: SignedIn, form: dict[str, str]) -> None:
        require_area(current.principal, Area.SETTINGS)
        hours = form.get("grace_hours", "").strip()
        if not (hours.isdigit() and 0 <= int(hours) <= MAX_GRACE_HOURS):
            raise BadRequest.field("grace_hours", f"a whole number of hours from 0 to {MAX_GRACE_HOURS}")
        show_new_key_next(
            session,
            current,
            what="Global API key",
            name="global API key",
            key=rotate_global_key(session, timedelta(hours=int(hours))),
            holder_note="it has every right on every tenant, the Noojee subscribe included.",
            back=("/console/settings/#GLOBAL_API_KEYS", "Back to Settings"),
        )

    done = await console_action(
        request, work, _shown_again(request, store.GLOBAL_API_KEYS, "grace_hours", "Hours")
    )
    if isinstance(done, Response):
        return done
    audit_write(request, 200, "settings:GLOBAL_API_KEYS rotated", None)
    return to_new_key(done[0], "Global API key rotated.")


# -- tenant keys (system accounts pick the tenant; a tenant's administrators have theirs) -------------

TENANT_KEYS_PAGE = "/console/settings/tenant-keys/"
MAX_TENANT_KEY_GRACE_HOURS = MAX_TENANT_KEY_GRACE_SECONDS // 3600


TENANT_KEY_FIELDS = {
    "name": Input("name", "Name"),
    "expires_days": Input("expires_days", "Expires in"),
    "expiresAt": Input("expires_days", "Expires in"),
    "ipAllowlist": Input("ip_allowlist", "Allowed from", "line"),
}
GRACE_FIELDS = {"grace_hours": Input("grace_hours", "Keep it working for")}


def _tenant_keys_again(request: Request, tenant: str) -> Callable[[SignedIn, Filled], Response]:
    def again(current: SignedIn, filled: Filled) -> Response:
        return _tenant_keys_page(request, tenant, filled)

    return again


@router.get("/settings/tenant-keys/")
def tenant_keys_page(request: Request, tenant: str = "") -> Response:
    return _tenant_keys_page(request, tenant, BLANK)


def _tenant_keys_page(request: Request, tenant: str, filled: Filled) -> Response:
    def build(session: Session, current: SignedIn, chosen: Tenant) -> dict[str, Any]:
        rows, _ = tenant_keys.list_tenant_keys(session, current.principal, chosen.tenant_id, None, 500)
        return {
            "keys": [tenant_keys.tenant_key_view(session, row) for row in rows],
            "max_grace_hours": MAX_TENANT_KEY_GRACE_HOURS,
        }

    return tenant_page(request, "tenant_keys.html", tenant, build, TENANT_KEYS, filled)


def _new_key_view(session: Session, row: TenantKey, key: str) -> dict[str, Any]:
    return tenant_keys.tenant_key_view(session, row, key) | {"tenantPk": row.tenant_pk}


async def _show_new_key(
    request: Request,
    work: Callable[[Session, SignedIn, dict[str, str]], dict[str, Any]],
    what: str,
    audit_note: str,
    notice: str,
    again: ShowAgain,
) -> Response:
    """A form that makes a tenant key: audited, and the key shown this once on the page after."""

    def made(session: Session, current: SignedIn, form: dict[str, str]) -> dict[str, Any]:
        view = work(session, current, form)
        show_new_key_next(
            session,
            current,
            what=what,
            name=view["name"],
            key=view["key"],
            holder_note=f"it acts as an administrator of {view['tenantId']}, the Noojee methods included.",
            back=(f"{TENANT_KEYS_PAGE}?{urlencode({'tenant': view['tenantId']})}", "Back to the tenant keys"),
        )
        return view

    done = await console_action(request, made, again)
    if isinstance(done, Response):
        return done
    view = done[1]
    audit_write(request, 201, f"tenant_key:{view['prefix']}{audit_note}", view["tenantPk"])
    return to_new_key(done[0], f"Tenant key '{view['name']}' {notice}.")


@router.post("/settings/tenant-keys/")
async def create_tenant_key(request: Request, tenant: str) -> Response:
    def work(session: Session, current: SignedIn, form: dict[str, str]) -> dict[str, Any]:
        days = form.get("expires_days", "").strip()
        if days and not (days.isdigit() and 1 <= int(days) <= 3650):
            raise BadRequest.field("expires_days", "a whole number of days from 1 to 3650, or empty")
        fields = {
            "name": form.get("name", "").strip(),
            "expiresAt": utcnow() + timedelta(days=int(days)) if days else None,
            "ipAllowlist": _lines(form.get("ip_allowlist", "")),
        }
        data = checked(TenantKeyCreate, fields)
        return _new_key_view(
            session, *tenant_keys.create_tenant_key(session, current.principal, tenant, data)
        )

    again = ShowAgain("new-tenant-key", TENANT_KEY_FIELDS, _tenant_keys_again(request, tenant))
    return await _show_new_key(request, work, "Tenant key", "", "created", again)


@router.post("/settings/tenant-keys/{key_id}/rotate")
async def rotate_tenant_key(request: Request, key_id: int, tenant: str) -> Response:
    """The key's successor, shown once; the old key keeps working for the hours given."""

    def work(session: Session, current: SignedIn, form: dict[str, str]) -> dict[str, Any]:
        hours = form.get("grace_hours", "").strip()
        if not (hours.isdigit() and 0 <= int(hours) <= MAX_TENANT_KEY_GRACE_HOURS):
            raise BadRequest.field(
                "grace_hours", f"a whole number of hours from 0 to {MAX_TENANT_KEY_GRACE_HOURS}"
            )
        grace = timedelta(hours=int(hours))
        row, key = tenant_keys.rotate_tenant_key(session, current.principal, tenant, key_id, grace)
        return _new_key_view(session, row, key)

    again = ShowAgain(f"rotate-{key_id}", GRACE_FIELDS, _tenant_keys_again(request, tenant))
    return await _show_new_key(
        request, work, "Tenant key (rotated)", f" rotated from #{key_id}", "rotated", again
    )


@router.post("/settings/tenant-keys/{key_id}/revoke")
async def revoke_tenant_key(request: Request, key_id: int, tenant: str) -> Response:
    def work(session: Session, current: SignedIn, form: dict[str, str]) -> tuple[int, str, str]:
        row = tenant_keys.revoke_tenant_key(session, current.principal, tenant, key_id)
        return row.tenant_pk, row.prefix, row.name

    done = await console_action(request, work)
    if isinstance(done, Response):
        return done
    current, (tenant_pk, prefix, name) = done
    audit_write(request, 204, f"tenant_key:{prefix}", tenant_pk)
    return notices.redirect(
        f"{TENANT_KEYS_PAGE}?{urlencode({'tenant': tenant})}", current, f"Tenant key '{name}' revoked."
    )
