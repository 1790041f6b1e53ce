"""One list shape (issue 23): every GET list of /api/v1 answers `{<key>: [...], "total": n,
"nextCursor": str | null}` under the key README documents, pages by its cursor, and no route of
the native API answers a bare array."""

from __future__ import annotations

import re
from typing import Any

from fastapi.routing import iter_route_contexts
from starlette.testclient import TestClient

from switchboard.kit.schemas import ListPage
from tests.support.fuzz_world import FuzzWorld, build_fuzz_world
from tests.support.pages import LIST_KEYS, items_of

PARAM = re.compile(r"\{([a-z_]+)\}")
# What names an item, most specific first (the first field an item has).
IDENTITIES = "id keyId uniqueId userId serviceUserId groupId name username domain number tenantId".split()
# Lists the fuzz world leaves empty: the webhooks' deliveries fail at a closed port later, if at all.
MAY_BE_EMPTY = {"/api/v1/webhooks/{webhook_id}/deliveries/"}


def _get_routes(api: TestClient) -> list[Any]:
    return [
        route
        for route in iter_route_contexts(api.app.routes)  # type: ignore[attr-defined]
        if "GET" in (getattr(route, "methods", None) or ()) and str(route.path).startswith("/api/v1/")
    ]


def _list_routes(api: TestClient) -> dict[str, type[ListPage]]:
    found: dict[str, type[ListPage]] = {}
    for route in _get_routes(api):
        model = getattr(route, "response_model", None)
        if isinstance(model, type) and issubclass(model, ListPage):
            found[route.path] = model
    return found


def _concrete(world: FuzzWorld, template: str) -> str:
    return PARAM.sub(lambda m: str(world.candidates("GET", template, m.group(1))[0]), template)


def _identity(item: dict[str, Any]) -> object:
    return next(item[field] for field in IDENTITIES if field in item)


def test_every_list_route_is_documented_with_its_key(api: TestClient) -> None:
    lists = _list_routes(api)
    assert {path: model.key for path, model in lists.items()} == LIST_KEYS
    for route in _get_routes(api):
        model = getattr(route, "response_model", None)
        assert getattr(model, "__origin__", model) is not list, f"{route.path} documents a bare array"


def test_the_openapi_document_shows_each_lists_key(api: TestClient) -> None:
    document = api.get("/api/v1/openapi.json").json()
    schemas = document["components"]["schemas"]
    for path, key in LIST_KEYS.items():
        answer = document["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
        schema = schemas[answer["schema"]["$ref"].rsplit("/", 1)[-1]]
        assert list(schema["properties"]) == [key, "total", "nextCursor"], path
        assert set(schema["required"]) == {key, "total", "nextCursor"}, path
        assert schema["properties"][key]["type"] == "array", path
    assert not [name for name in schemas if name.startswith("Page_")]  # the old generic page


def test_every_list_answers_its_envelope_and_pages_by_its_cursor(
    api: TestClient, global_key: str, database_url: str
) -> None:
    world = build_fuzz_world(api, global_key, database_url)
    for template in _list_routes(api):
        path = _concrete(world, template)
        whole = api.get(path, params={"limit": 500})
        assert whole.status_code == 200, (path, whole.text)
        body = whole.json()
        items = items_of(body, path)
        assert body["total"] == len(items), path
        assert body["nextCursor"] is None, path
        if template not in MAY_BE_EMPTY:
            assert items, f"{path}: the world should hold something to list"
        # One row a page, following nextCursor: the same rows, in the same order.
        walked: list[object] = []
        cursor: str | None = None
        for _ in range(len(items) + 1):
            params: dict[str, str | int] = {"limit": 1, **({"cursor": cursor} if cursor else {})}
            page = api.get(path, params=params).json()
            page_items = items_of(page, path)
            assert page["total"] == len(items), path
            walked += [_identity(item) for item in page_items]
            cursor = page["nextCursor"]
            if cursor is None:
                break
            assert isinstance(cursor, str), path
        assert walked == [_identity(item) for item in items], path


def test_no_route_of_the_native_api_answers_a_bare_array(
    api: TestClient, global_key: str, database_url: str
) -> None:
    world = build_fuzz_world(api, global_key, database_url)
    answered = 0
    for route in _get_routes(api):
        path: str = route.path
        if path.endswith(("/file/", "/openapi.json", "/docs")):
            continue
        answer = api.get(_concrete(world, path))
        if answer.headers.get("content-type", "").startswith("application/json"):
            assert not isinstance(answer.json(), list), path
            answered += 1
    assert answered > len(LIST_KEYS)
