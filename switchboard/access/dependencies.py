"""FastAPI dependencies that resolve the principal (async: no thread hop on the hot path)."""

from __future__ import annotations

from fastapi import Request

from switchboard.access.principal import Principal
from switchboard.errors import Forbidden


async def require_system(request: Request) -> Principal:
    """The caller must hold system rights (the global key, for now)."""
    principal: Principal = await request.app.state.credentials.resolve(request)
    if principal.role != "system":
        raise Forbidden("This operation needs system rights.")
    return principal
