"""Tenants: create, read, list, update, delete and every error status."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.support.factories import make_group, make_tenant
from tests.support.seed_003 import SEED_ADDRESS

FULL_TENANT = {
    "tenantId": "Foo",
    "type": "ServiceProvider",
    "name": "Foo Telecom",
    "defaultDomain": "foo.example",
    "supportEmail": "help@foo.example",
    "useCustomRoutingProfile": True,
    "useTenantLanguages": False,
    "contact": {"contactName": "Ops", "contactNumber": "+3225126777", "contactEmail": "ops@foo.example"},
    "addressInformation": SEED_ADDRESS,
    "teamlessTemplatesVisibleTo": "admins",
    "timeZone": "Australia/Sydney",
    "noojeeAcceptGet": True,
}


def test_create_returns_every_field_as_sent(api: TestClient) -> None:
    response = api.post("/api/v1/tenants/", json=FULL_TENANT)
    assert response.status_code == 201
    assert response.json() == FULL_TENANT


def test_get_matches_ids_case_insensitively_and_returns_them_as_stored(api: TestClient) -> None:
    make_tenant(api, "Foo")
    response = api.get("/api/v1/tenants/fOO/")
    assert response.status_code == 200
    assert response.json()["tenantId"] == "Foo"


def test_duplicate_id_in_any_case_is_409(api: TestClient) -> None:
    make_tenant(api, "foo")
    response = api.post("/api/v1/tenants/", json={"tenantId": "FOO", "type": "Enterprise"})
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"


def test_invalid_input_is_400_naming_the_field(api: TestClient) -> None:
    cases = [
        ({"tenantId": "x" * 31, "type": "Enterprise"}, "tenantId"),
        ({"tenantId": "ok", "type": "Reseller"}, "type"),
        ({"tenantId": "bad id", "type": "Enterprise"}, "tenantId"),
        ({"type": "Enterprise"}, "tenantId"),
        ({"tenantId": "ok", "type": "Enterprise", "colour": "red"}, "colour"),
        ({"tenantId": "ok", "type": "Enterprise", "useTenantLanguages": "maybe"}, "useTenantLanguages"),
        ({"tenantId": "ok", "type": "Enterprise", "contact": {"fax": "1"}}, "contact.fax"),
    ]
    for body, field in cases:
        response = api.post("/api/v1/tenants/", json=body)
        assert response.status_code == 400, (body, response.text)
        problem = response.json()
        assert problem["status"] == 400
        assert field in [error["field"] for error in problem["errors"]], problem


def test_malformed_json_is_400(api: TestClient) -> None:
    response = api.post(
        "/api/v1/tenants/", content=b'{"tenantId": ', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400


def test_update_changes_only_what_is_sent(api: TestClient) -> None:
    api.post("/api/v1/tenants/", json=FULL_TENANT)
    response = api.patch("/api/v1/tenants/foo/", json={"name": "Renamed", "supportEmail": None})
    assert response.status_code == 200
    assert response.json() == {**FULL_TENANT, "name": "Renamed"}
    assert api.get("/api/v1/tenants/foo/").json()["name"] == "Renamed"


def test_update_cannot_change_id_or_type(api: TestClient) -> None:
    make_tenant(api, "foo")
    for body in ({"tenantId": "bar"}, {"type": "ServiceProvider"}):
        assert api.patch("/api/v1/tenants/foo/", json=body).status_code == 400


def test_missing_tenant_is_404_everywhere(api: TestClient) -> None:
    for method, path in [
        ("GET", "/api/v1/tenants/nope/"),
        ("PATCH", "/api/v1/tenants/nope/"),
        ("DELETE", "/api/v1/tenants/nope/"),
        ("GET", "/api/v1/tenants/nope/groups/"),
    ]:
        response = api.request(method, path, json={} if method == "PATCH" else None)
        assert response.status_code == 404, (method, path, response.text)


def test_delete_removes_tenant_and_everything_under_it(api: TestClient) -> None:
    make_tenant(api, "foo")
    make_group(api, "foo", "g1")
    assert api.delete("/api/v1/tenants/foo/").status_code == 204
    assert api.get("/api/v1/tenants/foo/").status_code == 404
    make_tenant(api, "foo")  # the id is free again, and nothing old comes back
    assert api.get("/api/v1/tenants/foo/groups/").json()["total"] == 0
