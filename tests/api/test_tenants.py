"""Tenants: create, read, list, update, delete and every error status."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.support.access_world import login, make_account
from tests.support.factories import created, make_domain, make_group, make_tenant
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
    "externalId1": "crm-0042",
    "externalId2": "Billing ÀÉ 7",
    "externalId3": "",
    "externalId4": "x" * 255,
    "resellerId": None,  # a reseller's tenants: tests/api/test_resellers.py
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
    assert api.delete("/api/v1/tenants/foo/?deleteNonEmpty=1").status_code == 204
    assert api.get("/api/v1/tenants/foo/").status_code == 404
    make_tenant(api, "foo")  # the id is free again, and nothing old comes back
    assert api.get("/api/v1/tenants/foo/groups/").json()["total"] == 0


def _tenant_ids(api: TestClient, query: str, headers: dict[str, str] | None = None) -> tuple[set[str], int]:
    response = api.get(f"/api/v1/tenants/?{query}", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    return {tenant["tenantId"] for tenant in body["tenants"]}, body["total"]


def test_external_ids_are_set_cleared_and_matched_exactly_within_what_the_caller_sees(
    api: TestClient, anonymous: TestClient
) -> None:
    make_tenant(api, "a", externalId1="X-1")
    make_tenant(api, "b", externalId1="x-1", externalId2="k")
    make_tenant(api, "c", externalId1="X-1", externalId2="k")
    make_tenant(api, "d")
    assert api.get("/api/v1/tenants/d/").json()["externalId1"] is None
    assert _tenant_ids(api, "externalId1=X-1") == ({"a", "c"}, 2)  # exact: case counts
    assert _tenant_ids(api, "externalId1=X-1&externalId2=k") == ({"c"}, 1)  # ANDed
    assert _tenant_ids(api, "externalId1=X-") == (set(), 0)  # not a prefix
    assert _tenant_ids(api, "externalId2=k&idPrefix=b") == ({"b"}, 1)
    changed = api.patch("/api/v1/tenants/c/", json={"externalId1": None, "externalId3": "n"})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["externalId1"], changed.json()["externalId2"]) == (None, "k")
    assert _tenant_ids(api, "externalId1=X-1") == ({"a"}, 1)
    assert _tenant_ids(api, "externalId3=n") == ({"c"}, 1)
    # A tenant admin's list is its tenant's, filter or not.
    make_account(api, "ta-b", "tenant_admin", "b")
    admin = {"Authorization": f"Bearer {login(anonymous, 'ta-b')}"}
    assert _tenant_ids(anonymous, "externalId2=k", admin) == ({"b"}, 1)
    assert _tenant_ids(anonymous, "externalId1=X-1", admin) == (set(), 0)


def test_bad_external_ids_are_400_naming_the_field(api: TestClient) -> None:
    for query, field in [
        ("externalId1=a&externalId1=b", "externalId1"),
        (f"externalId4={'x' * 256}", "externalId4"),
        ("externalId2=a%00b", "externalId2"),
    ]:
        response = api.get(f"/api/v1/tenants/?{query}")
        assert response.status_code == 400, (query, response.text)
        assert field in [error["field"] for error in response.json()["errors"]], response.text
    for body, field in [
        ({"tenantId": "e", "type": "Enterprise", "externalId1": "x" * 256}, "externalId1"),
        ({"tenantId": "e", "type": "Enterprise", "externalId2": 7}, "externalId2"),
        ({"tenantId": "e", "type": "Enterprise", "externalId3": "a\u0000b"}, "externalId3"),
    ]:
        response = api.post("/api/v1/tenants/", json=body)
        assert response.status_code == 400, (body, response.text)
        assert field in [error["field"] for error in response.json()["errors"]], response.text


def test_a_tenant_holding_groups_or_departments_is_deleted_only_with_delete_non_empty(
    api: TestClient,
) -> None:
    make_tenant(api, "full")
    make_group(api, "full", "g1")
    make_tenant(api, "dept")
    created(api.post("/api/v1/tenants/dept/departments/", json={"name": "Ops"}))
    for path in ("/api/v1/tenants/full/", "/api/v1/tenants/dept/"):
        for query in ("", "?deleteNonEmpty=0", "?deleteNonEmpty=false"):
            refused = api.delete(f"{path}{query}")
            assert refused.status_code == 409, (path, query, refused.text)
            assert "deleteNonEmpty=1" in refused.json()["detail"]
        assert api.get(path).status_code == 200
    assert api.get("/api/v1/tenants/full/groups/g1/").status_code == 200
    assert api.delete("/api/v1/tenants/full/?deleteNonEmpty=maybe").status_code == 400
    assert api.delete("/api/v1/tenants/full/?deleteNonEmpty=1").status_code == 204
    assert api.delete("/api/v1/tenants/dept/?deleteNonEmpty=true").status_code == 204
    assert api.get("/api/v1/tenants/full/").status_code == 404
    # Its configuration (domains, admins) does not make a tenant non-empty.
    make_tenant(api, "bare")
    make_domain(api, "bare", "bare.example")
    make_account(api, "ta-bare", "tenant_admin", "bare")
    assert api.delete("/api/v1/tenants/bare/").status_code == 204
    assert api.get("/api/v1/accounts/ta-bare/").status_code == 404
