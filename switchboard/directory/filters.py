"""APIO's list filters and user / group searches over the directory's lists, read in one place."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from starlette.requests import Request

from switchboard.directory.queries import EXTERNAL_IDS, Shape
from switchboard.errors import BadRequest
from switchboard.kit.criteria import (
    MAX_VALUE,
    Criterion,
    criterion_names,
    parse_criteria,
    size_limit,
    text_value,
)
from switchboard.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, PageRequest, page_request
from switchboard.web.parameters import given_once, request_parameters

TENANT_TYPES = ("ServiceProvider", "Enterprise")
EXACTLY = "Only the objects whose field of this name is exactly this."


def _criteria(items: list[tuple[str, Any]], shape: Shape) -> tuple[list[Criterion], list[tuple[str, Any]]]:
    criteria, rest = parse_criteria(items, shape.fields(), dict(shape.aliases))
    return list(criteria), rest


def _add(criteria: list[Criterion], criterion: Criterion, name: str) -> None:
    if any(c.signature == criterion.signature for c in criteria):
        raise BadRequest.field(name, "each criterion may be given once")
    criteria.append(criterion)


async def list_request(request: Request, paging: PageRequest, shape: Shape) -> PageRequest:
    """A directory list's paging with APIO's filters: criteria, externalId1..4 (exact), `sizeLimit`
    (APIO's name for limit) and, on tenants, `type`. A JSON body may carry them instead of the
    query, as APIO documents; other query parameters are the list's own (limit, cursor, ...)."""
    items, from_body = await request_parameters(request)
    criteria, rest = _criteria(items, shape)
    fields = shape.fields()
    limit = paging.limit
    for name, value in rest:
        if name in EXTERNAL_IDS:  # externalId1=x is sensitiveExternalId1Equals=x
            exact = Criterion(f"E{name[1:]}", True, "Equals", text_value(name, value))
            _add(criteria, exact, name)
        elif name == "type" and "Type" in fields:
            if value not in TENANT_TYPES:
                raise BadRequest.field(name, f"must be one of: {', '.join(TENANT_TYPES)}")
            _add(criteria, Criterion("Type", True, "Equals", value), name)
        elif name == "sizeLimit":
            if "limit" in request.query_params:
                raise BadRequest.field(name, "send limit or sizeLimit, not both")
            limit = size_limit(name, value, MAX_LIMIT)
        elif from_body:  # the list's own parameters travel in the query
            raise BadRequest.field(name, "unknown field")
    return replace(paging, limit=limit, criteria=tuple(criteria))


async def search_request(request: Request, shape: Shape) -> PageRequest:
    """APIO's search: criteria ANDed, `responseSizeLimit` (or, as on every list, `limit`) rows a
    page, then `cursor` for the next; anything else, or any parameter twice, is a 400 naming it."""
    items, _ = await request_parameters(request)
    criteria, rest = _criteria(items, shape)
    given = given_once(rest)
    if "limit" in given and "responseSizeLimit" in given:
        raise BadRequest.field("responseSizeLimit", "send limit or responseSizeLimit, not both")
    limit, cursor = DEFAULT_LIMIT, None
    for name, value in given.items():
        if name in ("responseSizeLimit", "limit"):
            limit = size_limit(name, value, MAX_LIMIT)
        elif name == "cursor":
            cursor = text_value(name, value)
        else:
            criteria_here = ", ".join(shape.fields())
            raise BadRequest.field(
                name,
                f"is not a criterion of this search: (in)sensitive<Field>(Equals|Contains|Starts), "
                f"Field one of {criteria_here}; or responseSizeLimit (limit), cursor",
            )
    return replace(page_request(limit, cursor, None, None), criteria=tuple(criteria))


def _parameter(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    schema = schema or {"type": "string", "maxLength": MAX_VALUE}
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _criteria_parameters(shape: Shape) -> list[dict[str, Any]]:
    aliases = ", ".join(f"{alias} for {field}" for alias, field in shape.aliases)
    note = f" (also {aliases})" if aliases else ""
    return [
        _parameter(
            name,
            f"APIO criterion{note}: insensitive ignores case; Equals is the whole value, Contains "
            "a part, Starts its start; ANDed with the others, each at most once.",
        )
        for name in criterion_names(shape.fields())
    ]


def list_parameters(shape: Shape) -> list[dict[str, Any]]:
    """The OpenAPI query parameters list_request reads (the list's own are FastAPI's)."""
    documented = [
        *_criteria_parameters(shape),
        *(
            _parameter(name, "Only the objects whose field of this name is exactly this.")
            for name in EXTERNAL_IDS
        ),
        _parameter(
            "sizeLimit",
            "APIO's name for limit (send one of them).",
            {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
        ),
    ]
    if "Type" in shape.fields():
        documented.append(_parameter("type", "Only tenants of this type.", {"enum": list(TENANT_TYPES)}))
    return documented


def search_parameters(shape: Shape) -> list[dict[str, Any]]:
    """The OpenAPI query parameters search_request reads."""
    return [
        *_criteria_parameters(shape),
        _parameter(
            "responseSizeLimit",
            f"At most this many in the answer (default {DEFAULT_LIMIT}); nextCursor leads to the rest.",
            {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
        ),
        _parameter(
            "limit",
            "The lists' own name for responseSizeLimit (send one of them).",
            {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
        ),
        _parameter("cursor", "The nextCursor of the previous answer.", {"type": "string", "maxLength": 400}),
    ]
