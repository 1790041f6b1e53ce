"""The perimeter: trusted-proxy headers, HTTPS only (and HSTS), the IP allowlist, trailing slashes."""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Iterable

from starlette.types import Scope

from switchboard.errors import Forbidden, SwitchboardError
from switchboard.settings import IPNetwork

# A year: browsers that once reached us over HTTPS never try plain HTTP (and its stripping) again.
HSTS = (b"strict-transport-security", b"max-age=31536000")


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # [::1]:443
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # 192.0.2.1:443
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _trusted(peer: str | None, proxies: Iterable[IPNetwork]) -> bool:
    address = _address(peer) if peer else None
    return address is not None and any(address in net for net in proxies)


def client_from_forwarded(forwarded_for: str, proxies: tuple[IPNetwork, ...]) -> str | None:
    """Read X-Forwarded-For right to left, skipping our own proxies: the first other hop is the client.

    Only the entries appended by trusted proxies can be believed; anything to the left of the first
    untrusted hop may have been written by the client itself.
    """
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            return None
        if not any(address in net for net in proxies):
            return str(address)
    return str(_address(hops[0])) if hops else None


class Perimeter:
    """Decides what must never reach a handler; rewrites client and scheme from trusted proxies.
    Called by the gateway (web/gateway.py), which answers and audits its refusals."""

    def __init__(
        self,
        *,
        trusted_proxies: tuple[IPNetwork, ...],
        allow_http: bool,
        client_allowed: Callable[[str | None], Awaitable[bool]],
    ) -> None:
        self.proxies = trusted_proxies
        self.allow_http = allow_http
        self.client_allowed = client_allowed

    async def refusal(
        self, scope: Scope, forwarded_for: bytes | None, forwarded_proto: bytes | None
    ) -> SwitchboardError | None:
        """Why the request is refused, or None; the request's X-Forwarded-* values are given."""
        try:
            if forwarded_for is not None or forwarded_proto is not None:
                self._apply_proxy_headers(scope, forwarded_for, forwarded_proto)
            if scope["scheme"] != "https" and not self.allow_http:
                raise Forbidden("Switchboard accepts HTTPS only; resend the request over https://.")
            client = scope.get("client")
            if not await self.client_allowed(client[0] if client else None):
                raise Forbidden("Requests from this address are not accepted (the system IP allowlist).")
        except SwitchboardError as error:
            return error
        return None

    def _apply_proxy_headers(
        self, scope: Scope, forwarded_for: bytes | None, forwarded_proto: bytes | None
    ) -> None:
        client = scope.get("client")
        peer = client[0] if client else None
        if not _trusted(peer, self.proxies):
            raise Forbidden(
                "X-Forwarded-* headers are accepted only from a configured trusted proxy "
                "(SWITCHBOARD_TRUSTED_PROXIES)."
            )
        if forwarded_for is not None:
            real = client_from_forwarded(forwarded_for.decode("latin-1"), self.proxies)
            if real is None:
                raise Forbidden("X-Forwarded-For is malformed.")
            scope["client"] = (real, 0)
        if forwarded_proto is not None:
            scope["scheme"] = forwarded_proto.decode("latin-1").rsplit(",", 1)[-1].strip().lower()


def canonical_native_path(scope: Scope) -> None:
    """A native route's path gets its trailing slash in place, found at once (the router's SlashTwin
    finds any other form later). Never a redirect: it would drop a GET body (as APIO's searches send)."""
    path: str = scope["path"]
    if path.startswith("/api/v1/") and not path.endswith("/") and "." not in path.rsplit("/", 1)[1]:
        scope["path"] = path + "/"
        scope["raw_path"] = scope["path"].encode()
