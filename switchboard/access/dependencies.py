"""FastAPI dependencies resolving the principal (async: no thread hop on the hot path)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from switchboard.access.policy import Area, require_area
from switchboard.access.principal import Principal
from switchboard.web.state import services_of


def authorize(area: Area) -> Callable[[Request], Awaitable[Principal]]:
    """Resolve the request's credential, then apply the function-level rule of `area`."""

    async def principal_for(request: Request) -> Principal:
        # Resolved already when a dependency before this one needed it (Noojee's GET setting).
        principal: Principal | None = getattr(request.state, "principal", None)
        if principal is None:
            principal = await services_of(request).credentials.resolve(request)
            request.state.principal = principal
        require_area(principal, area)
        return principal

    principal_for.__name__ = f"principal_for_{area.value}"
    return principal_for


DirectoryCaller = Annotated[Principal, Depends(authorize(Area.DIRECTORY))]
AccountsCaller = Annotated[Principal, Depends(authorize(Area.ACCOUNTS))]
SettingsCaller = Annotated[Principal, Depends(authorize(Area.SETTINGS))]
AuditCaller = Annotated[Principal, Depends(authorize(Area.AUDIT))]
