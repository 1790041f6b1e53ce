"""Request size limits: a query string past 8 KiB is refused with 414, and a body past
SWITCHBOARD_MAX_BODY_BYTES with 413 before a handler parses it, whether its length is announced or
it arrives in chunks (the gateway, web/gateway.py, applies them).

File uploads (the directory import, the console's lead import) stream to disk under limits of
their own, so they are left to their routes."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import Message, Receive

from switchboard.errors import ContentTooLarge, UriTooLong

# Search by query parameters, the longest legitimate query, stays well under a kilobyte.
MAX_QUERY_BYTES = 8 * 1024


def too_large(limit: int) -> ContentTooLarge:
    return ContentTooLarge(f"The request body is larger than {limit} bytes.")


def query_too_long(query_string: bytes) -> UriTooLong | None:
    if len(query_string) > MAX_QUERY_BYTES:
        return UriTooLong(f"The query string is longer than {MAX_QUERY_BYTES} bytes.")
    return None


def announced_too_large(content_length: bytes | None, limit: int) -> ContentTooLarge | None:
    """The refusal of a body whose Content-Length (the first one sent) is past the limit."""
    if content_length is not None and content_length.isdigit() and int(content_length) > limit:
        return too_large(limit)
    return None


async def read_body(receive: Receive, limit: int) -> tuple[list[Message], HTTPException | None]:
    """The request's messages up to the body's end, and the 413 to raise in place of the rest when
    the body passes the limit. An HTTPException passes through FastAPI's body parsing unchanged;
    the error handlers answer it with the same 413 as an announced length."""
    messages: list[Message] = []
    seen = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            messages.append(message)
            return messages, None
        seen += len(message.get("body", b""))
        if seen > limit:
            return messages, HTTPException(413, too_large(limit).detail)
        messages.append(message)
        if not message.get("more_body"):
            return messages, None
