"""The one pass every HTTP request makes before the router: perimeter, size limits, NUL guard, then the
access log and metrics (pure ASGI; one layer, so each request pays for one wrapper, not four)."""

from __future__ import annotations

import time
from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from switchboard.errors import SwitchboardError
from switchboard.web.exception_handlers import ErrorRenderer
from switchboard.web.nul_guard import nul_field, nul_in_field, nul_refusal
from switchboard.web.observability import Metrics, error_log, log_access, route_template
from switchboard.web.perimeter import HSTS, Perimeter, canonical_native_path
from switchboard.web.request_limits import announced_too_large, query_too_long, read_body


class Gateway:
    """In order: the perimeter (trusted-proxy headers, HTTPS only, the IP allowlist; its refusals are
    audited), the trailing slash of native paths, the query string's length, the announced body
    length, a NUL in the path, then the whole body is read under its limit and checked for NUL before
    the app sees it. Uploads that stream to disk (`own_limit`) keep their body to themselves.

    Every request, refused ones included, is counted and logged with its route template and status,
    and every response over HTTPS carries HSTS."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        perimeter: Perimeter,
        on_refusal: Callable[[Scope, SwitchboardError], None],
        max_body_bytes: int,
        own_limit: Callable[[str], bool],
        render: ErrorRenderer,
        metrics: Metrics,
    ) -> None:
        self.app = app
        self.perimeter = perimeter
        self.on_refusal = on_refusal
        self.max_bytes = max_body_bytes
        self.own_limit = own_limit
        self.render = render
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_recorded(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # The scheme as the client sees it (after a trusted proxy's word); browsers ignore
                # HSTS over plain HTTP, where anyone could add it.
                if scope["scheme"] == "https":
                    message = {**message, "headers": [*message.get("headers", ()), HSTS]}
            await send(message)

        try:
            await self._serve(scope, receive, send_recorded)
        except Exception:
            error_log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            raise
        finally:
            elapsed = time.perf_counter() - started
            self.metrics.record(scope["method"], route_template(scope), status, elapsed)
            log_access(scope, status, elapsed)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        fields = dict(scope["headers"])  # the last of a repeated field, as a loop over them would keep
        refusal = await self.perimeter.refusal(
            scope, fields.get(b"x-forwarded-for"), fields.get(b"x-forwarded-proto")
        )
        if refusal is not None:
            self.on_refusal(scope, refusal)
            await self.render(scope["path"], refusal)(scope, receive, send)
            return
        canonical_native_path(scope)
        path: str = scope["path"]
        own_limit = self.own_limit(path)
        error: SwitchboardError | None = query_too_long(scope["query_string"])
        if error is None and not own_limit and b"content-length" in fields:
            error = announced_too_large(_first(scope["headers"], b"content-length"), self.max_bytes)
        if error is None:
            error = nul_refusal(path)
        if error is not None:
            await self.render(path, error)(scope, receive, send)
            return
        if own_limit:
            await self.app(scope, receive, send)
            return
        messages, failure = await read_body(receive, self.max_bytes)
        query: bytes = scope["query_string"]
        body = messages[0].get("body", b"") if len(messages) == 1 else _joined(messages)
        if failure is None and (query or body):  # nothing to check in most GETs
            field = nul_field(query, fields.get(b"content-type", b""), body)
            if field is not None:
                await self.render(path, nul_in_field(field))(scope, receive, send)
                return
        await self.app(scope, _replay(messages, failure, receive), send)


def _first(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    return next((value for field, value in headers if field == name), None)


def _joined(messages: list[Message]) -> bytes:
    return b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")


def _replay(messages: list[Message], failure: HTTPException | None, receive: Receive) -> Receive:
    """The messages read, in order; then the 413 if the body passed its limit, else the server's own."""

    async def replay() -> Message:
        if messages:
            return messages.pop(0)
        if failure is not None:
            raise failure
        return await receive()

    return replay
