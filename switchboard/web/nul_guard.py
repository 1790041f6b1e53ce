"""NUL characters refused where input enters: a 400 naming the field, before any route reads the request
(the gateway, web/gateway.py, reads each body and asks here)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import orjson

from switchboard.errors import BadRequest

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


def nul_field(query_string: bytes, content_type: bytes, body: bytes) -> str | None:
    """Where a request's query string or body holds a NUL character, or None."""
    if (field := _form_field(query_string, "query")) is not None:
        return field
    if content_type.lower().startswith(b"application/x-www-form-urlencoded"):
        return _form_field(body, "body")
    if b"\x00" in body:  # in JSON, text or a multipart form: as no escape, in no field we can name
        return "body"
    return _json_field(body)


def nul_refusal(path: str) -> BadRequest | None:
    """A URL path holding a NUL is refused whatever the route (no id or value holds one)."""
    return BadRequest(PATH_REASON) if "\x00" in path else None


def nul_in_field(field: str) -> BadRequest:
    return BadRequest.field(field, NUL_REASON)
