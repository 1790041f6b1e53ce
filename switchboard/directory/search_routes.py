"""GET/POST /api/v1/search/objects/: APIO's search objects request, as a JSON body or as query parameters."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from switchboard.access.dependencies import DirectoryCaller
from switchboard.directory.search import TYPES, SearchRequest, parse, search_objects
from switchboard.kit.schemas import Schema
from switchboard.system.store import DEFAULT_DOMAIN, END_USER_NAME
from switchboard.web.parameters import given_once, request_parameters
from switchboard.web.responses import errors, json_response
from switchboard.web.state import database_of, services_of

router = APIRouter(prefix="/api/v1", tags=["search"])


class SearchResult(Schema):
    """`tenant` always; `group` when group_id was given; `user` when user_id was given."""

    model_config = {"alias_generator": None, "extra": "allow"}
    tenant: dict[str, Any]
    group: dict[str, Any] | None = None
    user: dict[str, Any] | None = None


_QUERY_PARAMETERS = [
    {"name": name, "in": "query", "required": False, "schema": {"type": "string"}, "description": text}
    for name, text in (
        ("tenant_id", "The tenant id (required, here or in the body)."),
        ("group_id", "The group id; required with user_id."),
        ("user_id", "The user id; DEFAULT_DOMAIN is appended when it has no @domain."),
        ("type", f"One of: {', '.join(TYPES)}; defaults to user when user_id is given."),
    )
]
_BODY = {
    "required": False,
    "content": {"application/json": {"schema": SearchRequest.model_json_schema()}},
    "description": "The search, as APIO's search objects take it (or the same fields as query parameters).",
}
DOCS = {"requestBody": _BODY, "parameters": _QUERY_PARAMETERS}
RESPONSES = errors(400, 401, 403, 404)


async def _search(request: Request, principal: Any) -> Response:
    raw = given_once((await request_parameters(request))[0])
    cache = services_of(request).settings_cache
    search = parse(raw, await cache.get(DEFAULT_DOMAIN))
    answer = await search_objects(
        database_of(request).reader, principal, search, await cache.get(END_USER_NAME)
    )
    return json_response(answer)


@router.get("/search/objects/", response_model=SearchResult, responses=RESPONSES, openapi_extra=DOCS)
async def search_objects_get(request: Request, principal: DirectoryCaller) -> Response:
    """Search for a tenant, group, end user or service user by ids (APIO "search objects").

    404 whenever an object is missing, not visible to the caller, or the ids do not belong
    together — one identical answer, so nothing can be enumerated.
    """
    return await _search(request, principal)


@router.post("/search/objects/", response_model=SearchResult, responses=RESPONSES, openapi_extra=DOCS)
async def search_objects_post(request: Request, principal: DirectoryCaller) -> Response:
    """The same search, for clients that cannot send a body with GET."""
    return await _search(request, principal)
