"""A request's parameters as APIO clients send them: a JSON object body (even on GET) or the query
string, whose values may arrive unencoded."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, quote_from_bytes

import orjson
from starlette.requests import Request

from switchboard.errors import BadRequest

MAX_BODY = 16 * 1024
# Printable ASCII is kept as sent ("%", "+", "@", ...); anything else is percent-encoded before decoding.
_AS_SENT = "".join(chr(c) for c in range(0x21, 0x7F))


def query_items(query_string: bytes) -> list[tuple[str, str]]:
    """The query's (name, value) pairs, form-decoded as every form parser does (APIO's too: "+" is
    a space). APIO's own UIs join values into the URL unencoded: raw UTF-8 bytes decode like their
    %-escapes (a parser reading latin-1 would garble them), and a "%" that starts no escape stays."""
    text = quote_from_bytes(query_string, safe=_AS_SENT)
    try:
        return parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise BadRequest.field("query", "is not UTF-8") from exc


async def request_parameters(request: Request) -> tuple[list[tuple[str, Any]], bool]:
    """The parameters, and whether they came in a JSON body (APIO documents GET with a body);
    a body and a query together are a 400, as is a body that is not a JSON object."""
    body = await request.body()
    if len(body) > MAX_BODY:
        raise BadRequest.field("body", f"is larger than {MAX_BODY} bytes")
    if not body.strip():
        return query_items(request.scope["query_string"]), False
    if request.scope["query_string"]:
        raise BadRequest.field("body", "send the parameters as a JSON body or as query parameters, not both")
    try:
        raw = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest.field("body", "is not valid JSON") from exc
    if not isinstance(raw, dict):
        raise BadRequest.field("body", "must be a JSON object")
    return list(raw.items()), True


def given_once(items: list[tuple[str, Any]]) -> dict[str, Any]:
    """The parameters by name; one given twice is a 400 naming it."""
    found: dict[str, Any] = {}
    for name, value in items:
        if name in found:
            raise BadRequest.field(name, "may be given once")
        found[name] = value
    return found
