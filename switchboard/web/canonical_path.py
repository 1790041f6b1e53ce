"""One canonical form per path: a path's other form (trailing slash or not) is served, never redirected."""

from __future__ import annotations

from starlette.routing import Match, Router
from starlette.types import ASGIApp, Receive, Scope, Send


class SlashTwin:
    """The router's fallback for a path no route matches: when a route has the path's other form,
    the request is routed again under it, in place.

    Starlette's redirect_slashes answered a redirect instead, whose Location it built from the Host
    header (an open redirect, carrying a Noojee apiKey along); it must be off on the router.
    """

    def __init__(self, router: Router) -> None:
        assert not router.redirect_slashes, "a redirect would be built from the Host header"
        self.router = router
        self.not_found: ASGIApp = router.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        if scope["type"] == "http" and path != "/":
            twin = {**scope, "path": _toggled(path)}
            if any(route.matches(twin)[0] is not Match.NONE for route in self.router.routes):
                scope["path"] = twin["path"]
                if isinstance(scope.get("raw_path"), bytes):  # latin-1: any bytes, round-tripped
                    scope["raw_path"] = _toggled(scope["raw_path"].decode("latin-1")).encode("latin-1")
                await self.router.app(scope, receive, send)  # matches now: no second fallback
                return
        await self.not_found(scope, receive, send)


def _toggled(path: str) -> str:
    return path[:-1] if path.endswith("/") else path + "/"
