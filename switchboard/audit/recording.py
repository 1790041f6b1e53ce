"""What the request path tells the audit log: writes that succeeded, and every refusal."""

from __future__ import annotations

from starlette.requests import Request

from switchboard.access.principal import Principal
from switchboard.errors import NotFound, SwitchboardError, Unauthorized
from switchboard.web.state import services_of


def _operation(request: Request) -> str:
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path', request.url.path)}"


def _client(request: Request) -> str:
    return request.client.host if request.client else "-"


def _principal(request: Request) -> Principal | None:
    principal: Principal | None = getattr(request.state, "principal", None)
    return principal


def audit_write(request: Request, status: int, obj: str, tenant_pk: int | None) -> None:
    services_of(request).audit.record(
        principal=_principal(request),
        client=_client(request),
        operation=_operation(request),
        decision="allow",
        status=status,
        object=obj,
        tenant_pk=tenant_pk,
    )


def audit_refusal(request: Request, error: SwitchboardError) -> None:
    """Authentication failures, 403s, 404s and 429s. The reason is recorded, never sent."""
    if error.status not in (401, 403, 404, 429):
        return
    principal = _principal(request)
    if isinstance(error, NotFound):
        code, reason = "not_found_or_not_visible", error.reason
    elif isinstance(error, Unauthorized):
        code, reason = "authentication_failed", error.reason
    else:
        code, reason = f"http_{error.status}", error.detail
    services_of(request).audit.record(
        principal=principal,
        client=_client(request),
        operation=_operation(request),
        decision="fail" if error.status == 401 else "deny",
        status=error.status,
        object=request.url.path,
        # Filed under the caller's tenant: a tenant admin sees refusals of its own accounts only.
        tenant_pk=principal.tenant_pk if principal else None,
        reason_code=code,
        reason=reason,
    )
