"""GET on every Noojee method, accepted like POST where the setting noojeeAcceptGet is on for the caller."""

from __future__ import annotations

import time
from typing import Any

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from sqlalchemy import select
from starlette.routing import BaseRoute

from switchboard.access.principal import Principal
from switchboard.db.fastread import FastReader
from switchboard.directory.models import Tenant
from switchboard.errors import MethodNotAllowed, ServiceUnavailable
from switchboard.noojee.envelope import documented_errors
from switchboard.system.store import NOOJEE_ACCEPT_GET, SettingsCache
from switchboard.web.state import services_of

NOOJEE_TAG = "noojee"  # the routes of the Noojee surface, under whichever prefix
GET_OFF = "POST only: GET is accepted when the setting noojeeAcceptGet is on for your tenant"


class AcceptGet:
    """Whether a principal's Noojee requests may use GET: its tenant's override if it has one,
    else the system setting. Both in memory, re-read after a change anywhere (the change feed's
    "settings" channel: a tenant's override bumps it too) and at least every `ttl` seconds."""

    def __init__(self, reader: FastReader, settings: SettingsCache, ttl: float) -> None:
        self._reader = reader
        self._settings = settings
        self._ttl = ttl
        self._overrides: dict[int, bool] = {}
        self._loaded_at = float("-inf")
        self._query = reader.compiled(
            "noojee_accept_get.overrides",
            lambda: select(Tenant.pk, Tenant.noojee_accept_get).where(Tenant.noojee_accept_get.is_not(None)),
        )

    def invalidate(self) -> None:
        self._loaded_at = float("-inf")

    async def allows(self, principal: Principal) -> bool:
        if principal.tenant_pk is not None:
            override = (await self._tenant_overrides()).get(principal.tenant_pk)
            if override is not None:
                return override
        return bool(await self._settings.get(NOOJEE_ACCEPT_GET))

    async def _tenant_overrides(self) -> dict[int, bool]:
        if time.monotonic() - self._loaded_at > self._ttl:
            try:
                rows = await self._reader.fetch_all(self._query, {})
            except Exception as exc:
                if self._loaded_at == float("-inf") and not self._overrides:
                    raise ServiceUnavailable("The database is unavailable.") from exc
                return self._overrides  # keep serving the last values read; the next call tries again
            self._overrides = {row["pk"]: bool(row["noojee_accept_get"]) for row in rows}
            self._loaded_at = time.monotonic()
        return self._overrides


async def get_allowed(request: Request) -> None:
    """Before a GET twin's own dependencies: the caller is authenticated (the route's authorize
    reuses the principal), then refused 405 unless GET is on for it."""
    services = services_of(request)
    principal = await services.credentials.resolve(request)
    request.state.principal = principal
    if not await services.noojee_get.allows(principal):
        raise MethodNotAllowed(f"Noojee API methods accept {GET_OFF}.", allow="POST")


def add_get_twins(routes: list[BaseRoute]) -> None:
    """Beside every POST route of the Noojee surface, a GET route running the same endpoint behind
    get_allowed (placed right after it: before the catch-all of unknown methods). Once per route:
    routers are module-level, and every app built in the process includes them."""
    has_get = {
        route.path for route in routes if isinstance(route, APIRoute) and "GET" in (route.methods or ())
    }
    for index in reversed(range(len(routes))):
        route = routes[index]
        if not (isinstance(route, APIRoute) and NOOJEE_TAG in route.tags and "POST" in (route.methods or ())):
            continue
        if route.path in has_get:
            continue
        responses: dict[int | str, dict[str, Any]] = {**route.responses, **documented_errors((405, GET_OFF))}
        routes.insert(
            index + 1,
            APIRoute(
                route.path,
                route.endpoint,
                methods=["GET"],
                response_model=route.response_model,
                status_code=route.status_code,
                tags=route.tags,
                dependencies=[Depends(get_allowed), *route.dependencies],
                summary=route.summary,
                description=f"{route.description}\n\nAs GET: only where noojeeAcceptGet is on.".strip(),
                responses=responses,
                name=f"{route.name}_get",
                include_in_schema=route.include_in_schema,
                response_class=route.response_class,
                openapi_extra={**(route.openapi_extra or {}), "x-get-of-post": True},
            ),
        )
