"""NUL characters refused where input enters: a 400 naming the field, before any route reads the request."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from switchboard.errors import BadRequest
from switchboard.web.exception_handlers import ErrorRenderer

# PostgreSQL cannot store text holding a NUL and no id or value has one. The engine's check (see
# db/engine.py) misses text stored inside JSON columns and text never stored (a call's tag goes to
# the PBX), so every request's query string and body is checked here, once, for every route.
NUL_REASON = "may not contain NUL (U+0000) characters"
PATH_REASON = "The URL may not contain NUL (%00) characters."


def _form_field(encoded: bytes, whole: str) -> str | None:
    """The field of a query string or form body holding a NUL (%00 or a raw byte), if any."""
    if b"%00" not in encoded and b"\x00" not in encoded:
        return None
    for name, value in parse_qsl(encoded.decode("latin-1"), keep_blank_values=True):
        if "\x00" in name:
            return whole
        if "\x00" in value:
            return name
    return whole


def _json_field(body: bytes) -> str | None:
    """The dotted path (as a validation error names it) of a JSON string holding a NUL, if any.
    A `\\u0000` in the text may be an escaped backslash before 'u0000': only the parsed text tells."""
    if b"\\u0000" not in body:
        return None
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None  # not JSON: the route's parser answers it
    pending: list[tuple[list[str], Any]] = [([], document)]
    while pending:  # iterative: a deep document cannot exhaust the stack
        path, value = pending.pop()
        if isinstance(value, str) and "\x00" in value:
            return ".".join(path) or "body"
        if isinstance(value, dict):
            if any("\x00" in key for key in value):
                return ".".join(path) or "body"
            pending.extend(([*path, key], item) for key, item in reversed(value.items()))
        elif isinstance(value, list):
            pending.extend(([*path, str(i)], item) for i, item in reversed(list(enumerate(value))))
    return None


def nul_field(scope: Scope, body: bytes) -> str | None:
    """Where a request's query string or body holds a NUL character, or None."""
    if (field := _form_field(scope["query_string"], "query")) is not None:
        return field
    content_type = dict(scope["headers"]).get(b"content-type", b"").lower()
    if content_type.startswith(b"application/x-www-form-urlencoded"):
        return _form_field(body, "body")
    if b"\x00" in body:  # in JSON, text or a multipart form: as no escape, in no field we can name
        return "body"
    return _json_field(body)


class NulGuard:
    """Reads each body (already capped by RequestLimits, outside it) and refuses one holding a NUL
    before the app sees it; uploads that stream to disk check their own lines."""

    def __init__(self, app: ASGIApp, *, own_limit: Callable[[str], bool], render: ErrorRenderer) -> None:
        self.app = app
        self.own_limit = own_limit
        self.render = render

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and "\x00" in scope["path"]:  # no id or value holds one
            await self.render(scope["path"], BadRequest(PATH_REASON))(scope, receive, send)
            return
        if scope["type"] != "http" or self.own_limit(scope["path"]):
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        failure: HTTPException | None = None
        try:
            while not messages or (messages[-1]["type"] == "http.request" and messages[-1].get("more_body")):
                messages.append(await receive())
        except HTTPException as exc:  # the body limit's 413: raised again where the app reads the body
            failure = exc
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")
        if failure is None and (field := nul_field(scope, body)) is not None:
            await self.render(scope["path"], BadRequest.field(field, NUL_REASON))(scope, receive, send)
            return

        async def replay() -> Message:
            if messages:
                return messages.pop(0)
            if failure is not None:
                raise failure
            return await receive()

        await self.app(scope, replay, send)
