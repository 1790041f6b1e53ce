"""Noojee's request parameters: from the query string or a form body, as its clients send them."""

from __future__ import annotations

from fastapi import Request

from switchboard.calls.drivers.base import SipHeader
from switchboard.errors import BadRequest
from switchboard.kit.pagination import is_number
from switchboard.kit.schemas import MAX_ROW_ID

IDEMPOTENCY_KEY = "idempotencyKey"  # the native Idempotency-Key header, as a Noojee parameter


async def parameter(request: Request, name: str) -> str | None:
    """A Noojee parameter, from the query string or a form body."""
    value = request.query_params.get(name)
    if value is None and request.headers.get("content-type", "").startswith(
        "application/x-www-form-urlencoded"
    ):
        form_value = (await request.form()).get(name)
        value = form_value if isinstance(form_value, str) else None
    return value


async def required(request: Request, name: str) -> str:
    value = (await parameter(request, name) or "").strip()
    if not value:
        raise BadRequest.field(name, "required")
    return value


async def optional_id(request: Request, name: str, maximum: int = MAX_ROW_ID) -> int | None:
    """A number: a row id unless `maximum` says otherwise (a larger one no database column holds)."""
    raw = await parameter(request, name)
    if not raw:
        return None
    if not is_number(raw) or int(raw) > maximum:
        raise BadRequest.field(name, "must be a number")
    return int(raw)


async def required_id(request: Request, name: str) -> int:
    value = await optional_id(request, name)
    if value is None:
        raise BadRequest.field(name, "required: a number")
    return value


TRUE, FALSE = ("true", "1", "yes"), ("false", "0", "no", "")


async def flag(request: Request, name: str) -> bool:
    return (await parameter(request, name) or "").strip().lower() in TRUE


async def answer_request(request: Request, name: str) -> tuple[bool, SipHeader | None]:
    """`autoAnswer` / `answerString`: true / false, or the SIP header the client's phone make
    answers to by itself (Noojee's client sends 'Call-info:answer-after=0', ...)."""
    raw = (await parameter(request, name) or "").strip()
    if raw.lower() in TRUE or raw.lower() in FALSE:
        return raw.lower() in TRUE, None
    try:
        return True, SipHeader.parse(raw)
    except ValueError as exc:
        raise BadRequest.field(name, str(exc)) from None
