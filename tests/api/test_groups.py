"""Groups: CRUD, ids that must belong together, derived userCount and the enforced userLimit."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.support.factories import created, make_domain, make_group, make_tenant, make_user


def test_group_crud(api: TestClient) -> None:
    make_tenant(api, "t1")
    group = make_group(
        api,
        "t1",
        "Sales",
        userLimit=25,
        cliPhoneNumber="+3225126777",
        timeZone="Europe/Berlin",
        addressInformation={"city": "Milano", "country": "Italy"},
    )
    assert group["groupId"] == "Sales"
    assert group["tenantId"] == "t1"
    assert group["userCount"] == 0
    assert group["userLimit"] == 25
    assert group["addressInformation"]["city"] == "Milano"
    assert api.get("/api/v1/tenants/T1/groups/sales/").json()["groupId"] == "Sales"
    updated = api.patch("/api/v1/tenants/t1/groups/sales/", json={"groupName": "Sales EU"})
    assert updated.status_code == 200
    assert updated.json()["groupName"] == "Sales EU"
    assert api.delete("/api/v1/tenants/t1/groups/sales/").status_code == 204
    assert api.get("/api/v1/tenants/t1/groups/sales/").status_code == 404


def test_group_of_another_tenant_is_404_not_a_leak(api: TestClient) -> None:
    make_tenant(api, "t1")
    make_tenant(api, "t2")
    make_group(api, "t2", "g2")
    missing = api.get("/api/v1/tenants/t1/groups/nothing/")
    mismatched = api.get("/api/v1/tenants/t1/groups/g2/")
    assert missing.status_code == mismatched.status_code == 404
    assert missing.content == mismatched.content
    assert api.patch("/api/v1/tenants/t1/groups/g2/", json={"groupName": "x"}).status_code == 404
    assert api.delete("/api/v1/tenants/t1/groups/g2/").status_code == 404
    assert api.get("/api/v1/tenants/t2/groups/g2/").status_code == 200


def test_same_group_id_in_two_tenants_is_allowed_but_not_twice_in_one(api: TestClient) -> None:
    make_tenant(api, "t1")
    make_tenant(api, "t2")
    make_group(api, "t1", "g")
    make_group(api, "t2", "g")
    assert api.post("/api/v1/tenants/t1/groups/", json={"groupId": "G"}).status_code == 409


def test_create_group_in_missing_tenant_is_404(api: TestClient) -> None:
    assert api.post("/api/v1/tenants/none/groups/", json={"groupId": "g"}).status_code == 404


def test_user_count_is_derived_and_user_limit_enforced(api: TestClient) -> None:
    make_tenant(api, "t1")
    make_domain(api, "t1", "t1.example")
    make_group(api, "t1", "g1", userLimit=2)
    make_user(api, "t1", "g1", "a@t1.example")
    make_user(api, "t1", "g1", "b@t1.example")
    assert api.get("/api/v1/tenants/t1/groups/g1/").json()["userCount"] == 2
    full = api.post(
        "/api/v1/tenants/t1/groups/g1/users/",
        json={"userId": "c@t1.example", "firstName": "C", "lastName": "C"},
    )
    assert full.status_code == 409
    assert "full" in full.json()["detail"]
    assert api.patch("/api/v1/tenants/t1/groups/g1/", json={"userLimit": 1}).status_code == 409
    assert api.delete("/api/v1/tenants/t1/groups/g1/users/a@t1.example/").status_code == 204
    assert api.get("/api/v1/tenants/t1/groups/g1/").json()["userCount"] == 1
    make_user(api, "t1", "g1", "c@t1.example")


def test_group_validation(api: TestClient) -> None:
    make_tenant(api, "t1")
    for body, field in [
        ({"groupId": "g", "userLimit": -1}, "userLimit"),
        ({"groupId": "g", "cliPhoneNumber": "call me"}, "cliPhoneNumber"),
        ({"groupId": "g", "userCount": 3}, "userCount"),
        ({"groupName": "no id"}, "groupId"),
    ]:
        response = api.post("/api/v1/tenants/t1/groups/", json=body)
        assert response.status_code == 400, body
        assert field in response.json()["detail"]


def test_patch_keeps_field_constraints(api: TestClient) -> None:
    make_tenant(api, "t1")
    make_group(api, "t1", "g1")
    for body in ({"userLimit": -5}, {"cliPhoneNumber": "nope"}, {"groupName": "x" * 81}):
        response = api.patch("/api/v1/tenants/t1/groups/g1/", json=body)
        assert response.status_code == 400, (body, response.text)


def test_group_external_ids_are_stored_returned_and_matched_exactly(api: TestClient) -> None:
    make_tenant(api, "t1")
    made = make_group(api, "t1", "g1", externalId1="G-1", externalId4="four")
    assert (made["externalId1"], made["externalId2"], made["externalId4"]) == ("G-1", None, "four")
    make_group(api, "t1", "g2", externalId1="G-1")
    make_group(api, "t1", "g3", externalId1="g-1")
    patched = api.patch("/api/v1/tenants/t1/groups/g2/", json={"externalId2": "two"})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["externalId1"], patched.json()["externalId2"]) == ("G-1", "two")
    assert api.get("/api/v1/tenants/t1/groups/g2/").json()["externalId2"] == "two"

    def listed(query: str) -> tuple[set[str], int]:
        body = api.get(f"/api/v1/tenants/t1/groups/?{query}").json()
        return {group["groupId"] for group in body["groups"]}, body["total"]

    assert listed("externalId1=G-1") == ({"g1", "g2"}, 2)
    assert listed("externalId1=G-1&externalId2=two") == ({"g2"}, 1)
    assert listed("externalId4=four&limit=1") == ({"g1"}, 1)
    assert listed("externalId3=") == (set(), 0)  # "" is a value: no group has it
    assert api.get("/api/v1/tenants/t1/groups/?externalId2=a&externalId2=a").status_code == 400


def test_a_group_holding_users_services_or_departments_is_deleted_only_with_delete_non_empty(
    api: TestClient,
) -> None:
    make_tenant(api, "t1")
    make_domain(api, "t1", "t1.example")
    for group in ("users", "services", "departments", "bare"):
        make_group(api, "t1", group)
    make_user(api, "t1", "users", "a@t1.example")
    created(
        api.post(
            "/api/v1/tenants/t1/groups/services/services/ivrs/",
            json={"serviceUserId": "ivr@t1.example", "serviceInstanceProfile": {"name": "IVR"}},
        )
    )
    created(api.post("/api/v1/tenants/t1/groups/departments/departments/", json={"name": "Ops"}))
    for group in ("users", "services", "departments"):
        path = f"/api/v1/tenants/t1/groups/{group}/"
        assert api.delete(path).status_code == 409, group
        assert api.delete(f"{path}?deleteNonEmpty=0").status_code == 409, group
        assert api.get(path).status_code == 200
        assert api.delete(f"{path}?deleteNonEmpty=1").status_code == 204, group
        assert api.get(path).status_code == 404
    assert api.get("/api/v1/tenants/t1/groups/users/users/a@t1.example/").status_code == 404
    assert api.delete("/api/v1/tenants/t1/groups/bare/").status_code == 204
    # Its groups gone (the accounts and domain do not count), the tenant is empty.
    assert api.delete("/api/v1/tenants/t1/").status_code == 204
