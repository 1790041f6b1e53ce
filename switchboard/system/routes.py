"""/api/v1/settings/: the system settings an operator may read and change (never secrets)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from switchboard.access.dependencies import require_system
from switchboard.access.principal import Principal
from switchboard.db.engine import Database
from switchboard.responses import errors, json_response
from switchboard.system import store
from switchboard.system.schemas import SettingsOut, SettingsUpdate

router = APIRouter(prefix="/api/v1", tags=["settings"])
System = Annotated[Principal, Depends(require_system)]


@router.get("/settings/", response_model=SettingsOut, responses=errors(401, 403))
def read_settings(request: Request, _: System) -> Response:
    db: Database = request.app.state.db
    with db.transaction() as session:
        return json_response(store.public_settings(session))


@router.patch("/settings/", response_model=SettingsOut, responses=errors(400, 401, 403, 409))
def update_settings(request: Request, _: System, body: SettingsUpdate) -> Response:
    """Changes the settings sent; DEFAULT_DOMAIN must be a domain name assigned to no tenant."""
    db: Database = request.app.state.db
    changes = {name: getattr(body, name) for name in body.model_fields_set if getattr(body, name) is not None}
    with db.transaction() as session:
        answer = store.update_public_settings(session, changes)
    request.app.state.settings_cache.invalidate()
    return json_response(answer)
