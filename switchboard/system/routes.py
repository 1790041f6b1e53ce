"""/api/v1/settings/: the system settings an operator may read and change (never secrets)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from switchboard.access.dependencies import SettingsCaller
from switchboard.audit.recording import audit_write
from switchboard.system import store
from switchboard.system.schemas import AllowlistBody, SettingsOut, SettingsUpdate
from switchboard.web.responses import errors, json_response
from switchboard.web.state import services_of

router = APIRouter(prefix="/api/v1", tags=["settings"])


@router.get("/settings/", response_model=SettingsOut, responses=errors(401, 403))
def read_settings(request: Request, _: SettingsCaller) -> Response:
    db = services_of(request).db
    with db.transaction() as session:
        return json_response(store.public_settings(session))


@router.patch("/settings/", response_model=SettingsOut, responses=errors(400, 401, 403, 409))
def update_settings(request: Request, _: SettingsCaller, body: SettingsUpdate) -> Response:
    """Changes the settings sent; DEFAULT_DOMAIN must be a domain name assigned to no tenant."""
    db = services_of(request).db
    changes = {name: getattr(body, name) for name in body.model_fields_set if getattr(body, name) is not None}
    with db.transaction() as session:
        answer = store.update_public_settings(session, changes)
    audit_write(request, 200, f"settings:{','.join(sorted(changes))}", None)
    return json_response(answer)


@router.get("/settings/ip-allowlist/", response_model=AllowlistBody, responses=errors(401, 403))
def read_allowlist(request: Request, _: SettingsCaller) -> Response:
    """Every request must come from one of these addresses/CIDRs (after trusted-proxy resolution)."""
    db = services_of(request).db
    with db.transaction() as session:
        return json_response({"entries": store.read_setting(session, store.IP_ALLOWLIST)})


@router.put("/settings/ip-allowlist/", response_model=AllowlistBody, responses=errors(400, 401, 403))
def replace_allowlist(request: Request, _: SettingsCaller, body: AllowlistBody) -> Response:
    """Replaces the list. An empty list is refused (it would lock everyone out)."""
    entries = store.normalise_allowlist(body.entries)
    db = services_of(request).db
    with db.transaction() as session:
        store.write_setting(session, store.IP_ALLOWLIST, entries)
    audit_write(request, 200, "settings:IP_ALLOWLIST", None)
    return json_response({"entries": entries})
