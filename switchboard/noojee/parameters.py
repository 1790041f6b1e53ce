"""Noojee's request parameters: from the query string or a form body, as its clients send them."""

from __future__ import annotations

from fastapi import Request

from switchboard.errors import BadRequest
from switchboard.kit.pagination import is_number
from switchboard.kit.schemas import MAX_ROW_ID


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


async def flag(request: Request, name: str) -> bool:
    return (await parameter(request, name) or "").strip().lower() in ("true", "1", "yes")
