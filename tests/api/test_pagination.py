"""Keyset pagination: complete, ordered, stable under concurrent inserts; prefix filters."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.support.factories import make_tree, make_user

USERS = "/api/v1/tenants/t1/groups/g1/users/"


def _walk(api: TestClient, url: str, limit: int, between_pages: list[str] | None = None) -> list[str]:
    seen: list[str] = []
    cursor = None
    page = 0
    while True:
        params: dict[str, str | int] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        body = api.get(url, params=params).json()
        seen.extend(item["userId"] for item in body["users"])
        cursor = body["nextCursor"]
        if between_pages and page < len(between_pages):
            make_user(api, "t1", "g1", between_pages[page])
        page += 1
        if cursor is None:
            return seen


def test_pages_cover_every_row_once_in_order(api: TestClient) -> None:
    make_tree(api)
    ids = [f"user{n:02d}@t1.example" for n in range(23)]
    for user_id in reversed(ids):
        make_user(api, "t1", "g1", user_id)
    first = api.get(USERS, params={"limit": 5}).json()
    assert first["total"] == 23
    assert len(first["users"]) == 5
    assert first["nextCursor"]
    assert _walk(api, USERS, 5) == ids
    assert api.get(USERS, params={"limit": 23}).json()["nextCursor"] is None


def test_concurrent_inserts_never_cause_skips_or_repeats(api: TestClient) -> None:
    make_tree(api)
    existing = [f"m{n:02d}@t1.example" for n in range(0, 40, 2)]
    for user_id in existing:
        make_user(api, "t1", "g1", user_id)
    # Between pages, rows appear both before and after the cursor position.
    inserted = ["a0@t1.example", "m01@t1.example", "m39@t1.example", "z9@t1.example"]
    seen = _walk(api, USERS, 6, between_pages=inserted)
    assert len(seen) == len(set(seen)), "a row was repeated"
    assert set(existing) <= set(seen), "a row that existed throughout was skipped"
    assert seen == sorted(seen)


def test_prefix_filters(api: TestClient) -> None:
    make_tree(api)
    make_user(api, "t1", "g1", "anna@t1.example", lastName="Rossi")
    make_user(api, "t1", "g1", "ANDY@t1.example", lastName="Russo")
    make_user(api, "t1", "g1", "bob@t1.example", lastName="Ross_i")
    by_id = api.get(USERS, params={"idPrefix": "An"}).json()
    assert [u["userId"] for u in by_id["users"]] == ["ANDY@t1.example", "anna@t1.example"]
    assert by_id["total"] == 2
    by_name = api.get(USERS, params={"namePrefix": "ross"}).json()
    assert {u["userId"] for u in by_name["users"]} == {"anna@t1.example", "bob@t1.example"}
    literal = api.get(USERS, params={"namePrefix": "ross_"}).json()  # '_' is not a wildcard
    assert [u["userId"] for u in literal["users"]] == ["bob@t1.example"]
    tenants = api.get("/api/v1/tenants/", params={"namePrefix": "tenant t"}).json()
    assert tenants["total"] == 1


def test_bad_paging_parameters_are_400(api: TestClient) -> None:
    make_tree(api)
    for params in (
        {"limit": 0},
        {"limit": 501},
        {"limit": "x"},
        {"cursor": "not-a-cursor"},
        {"cursor": "WzFd"},
    ):
        response = api.get(USERS, params=params)
        assert response.status_code == 400, params
        assert response.json()["errors"][0]["field"] in ("limit", "cursor")
