"""Departments at tenant and group level: parents by name and the derived fullPathName."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.support.factories import make_tree, make_user

T = "/api/v1/tenants/t1/departments/"
G = "/api/v1/tenants/t1/groups/g1/departments/"


def test_nested_departments_derive_full_path(api: TestClient) -> None:
    make_tree(api)
    assert api.post(T, json={"name": "Operations"}).status_code == 201
    care = api.post(T, json={"name": "Customer Care", "parent": "operations"}).json()
    assert care["fullPathName"] == "Operations \\ Customer Care"
    tier = api.post(G, json={"name": "Tier 1", "parent": "Customer Care"}).json()
    assert tier == {
        "tenantId": "t1",
        "groupId": "g1",
        "name": "Tier 1",
        "parent": "Customer Care",
        "fullPathName": "Operations \\ Customer Care \\ Tier 1",
    }
    assert api.get(f"{G}tier 1/").json()["fullPathName"] == tier["fullPathName"]
    assert api.get(G).json()["total"] == 1
    assert api.get(T).json()["total"] == 2


def test_rename_and_move_update_descendant_paths(api: TestClient) -> None:
    make_tree(api)
    api.post(T, json={"name": "A"})
    api.post(T, json={"name": "B"})
    api.post(T, json={"name": "C", "parent": "A"})
    api.post(G, json={"name": "D", "parent": "C"})
    assert api.patch(f"{T}A/", json={"name": "Alpha"}).status_code == 200
    assert api.get(f"{G}D/").json()["fullPathName"] == "Alpha \\ C \\ D"
    assert api.patch(f"{T}C/", json={"parent": "B"}).json()["fullPathName"] == "B \\ C"
    assert api.get(f"{G}D/").json()["fullPathName"] == "B \\ C \\ D"
    assert api.patch(f"{T}C/", json={"parent": None}).json()["fullPathName"] == "C"


def test_cycles_and_unknown_parents_are_400(api: TestClient) -> None:
    make_tree(api)
    api.post(T, json={"name": "A"})
    api.post(T, json={"name": "B", "parent": "A"})
    assert api.patch(f"{T}A/", json={"parent": "B"}).status_code == 400
    assert api.patch(f"{T}A/", json={"parent": "A"}).status_code == 400
    response = api.post(T, json={"name": "X", "parent": "Nope"})
    assert response.status_code == 400
    assert "parent" in response.json()["detail"]
    # A tenant-level department cannot hang under a group's department.
    api.post(G, json={"name": "GroupOnly"})
    assert api.post(T, json={"name": "Y", "parent": "GroupOnly"}).status_code == 400
    for bad in ("a/b", "a\\b", ""):
        assert api.post(T, json={"name": bad}).status_code == 400


def test_duplicates_and_deletion_rules(api: TestClient) -> None:
    make_tree(api)
    api.post(T, json={"name": "A"})
    assert api.post(T, json={"name": "a"}).status_code == 409
    assert api.post(G, json={"name": "A"}).status_code == 201  # another scope
    api.post(T, json={"name": "B", "parent": "A"})
    assert api.delete(f"{T}A/").status_code == 409
    assert api.delete(f"{T}B/").status_code == 204
    assert api.delete(f"{T}A/").status_code == 204
    assert api.get(f"{T}A/").status_code == 404
    assert api.get("/api/v1/tenants/t1/groups/nope/departments/").status_code == 404
    assert api.post("/api/v1/tenants/nope/departments/", json={"name": "Z"}).status_code == 404


def test_user_department_is_cleared_when_department_is_deleted(api: TestClient) -> None:
    make_tree(api)
    api.post(T, json={"name": "Sales"})
    user = make_user(api, "t1", "g1", "u@t1.example", department={"departmentName": "Sales"})
    assert user["department"] == {
        "tenantId": "t1",
        "groupId": None,
        "departmentName": "Sales",
        "fullPathName": "Sales",
    }
    api.delete(f"{T}Sales/")
    assert api.get("/api/v1/tenants/t1/groups/g1/users/u@t1.example/").json()["department"] is None
