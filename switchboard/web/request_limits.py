"""Request size limits: a query string past 8 KiB is refused with 414, and a body past
SWITCHBOARD_MAX_BODY_BYTES with 413 before a handler parses it, whether its length is announced or
it arrives in chunks.

File uploads (the directory import, the console's lead import) stream to disk under limits of
their own, so they are left to their routes."""

from __future__ import annotations

from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from switchboard.errors import ContentTooLarge, UriTooLong
from switchboard.web.exception_handlers import ErrorRenderer

# Search by query parameters, the longest legitimate query, stays well under a kilobyte.
MAX_QUERY_BYTES = 8 * 1024


def too_large(limit: int) -> ContentTooLarge:
    return ContentTooLarge(f"The request body is larger than {limit} bytes.")


class RequestLimits:
    """Refuses a long query string; counts the bytes of every body, and past the limit ends it in a 413."""

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, own_limit: Callable[[str], bool], render: ErrorRenderer
    ) -> None:
        self.app = app
        self.render = render
        self.max_bytes = max_bytes
        self.own_limit = own_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if len(scope["query_string"]) > MAX_QUERY_BYTES:
            error = UriTooLong(f"The query string is longer than {MAX_QUERY_BYTES} bytes.")
            await self.render(scope["path"], error)(scope, receive, send)
            return
        if self.own_limit(scope["path"]):
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        for name, value in scope["headers"]:
            if name == b"content-length":
                if value.isdigit() and int(value) > limit:
                    await self.render(scope["path"], too_large(limit))(scope, receive, send)
                    return
                break
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # An HTTPException passes through FastAPI's body parsing unchanged; the error
                    # handlers answer it with the same 413 as above.
                    raise HTTPException(413, too_large(limit).detail)
            return message

        await self.app(scope, counted, send)
