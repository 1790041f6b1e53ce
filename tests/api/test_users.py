"""End users: every field of seed 003's user, devices and trunking, ids, domains and extensions."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.support.access_world import login, make_account
from tests.support.factories import make_domain, make_group, make_tenant, make_tree, make_user, user_body
from tests.support.seed_003 import SEED_USER

USERS = "/api/v1/tenants/t1/groups/g1/users/"


def test_user_round_trips_every_seed_field_plus_devices_and_trunking(api: TestClient) -> None:
    make_tree(api)
    api.post("/api/v1/tenants/t1/departments/", json={"name": "test_department_parent_1"})
    api.post(
        "/api/v1/tenants/t1/groups/g1/departments/",
        json={"name": "test_department_initial", "parent": "test_department_parent_1"},
    )
    body = {
        "userId": "FooUser@t1.example",
        **SEED_USER,
        "department": {"departmentName": "test_department_initial", "groupId": "g1"},
        "devices": [
            {
                "deviceName": "desk-4000",
                "deviceType": "Polycom VVX 450",
                "linePort": "4000@t1.example",
                "macAddress": "00:04:f2:aa:bb:cc",
            }
        ],
        "trunkAddressing": {
            "trunkGroupName": "tg1",
            "enterpriseTrunkName": "",
            "alternateTrunkIdentity": "",
            "physicalLocation": "rack 4",
        },
    }
    created = api.post(USERS, json=body)
    assert created.status_code == 201, created.text
    user = created.json()
    assert user["userId"] == "FooUser@t1.example"
    assert {k: user[k] for k in SEED_USER} == SEED_USER
    assert user["department"] == {
        "tenantId": "t1",
        "groupId": "g1",
        "departmentName": "test_department_initial",
        "fullPathName": "test_department_parent_1 \\ test_department_initial",
    }
    assert user["devices"][0]["macAddress"] == "00:04:f2:aa:bb:cc"
    assert user["trunkAddressing"]["physicalLocation"] == "rack 4"
    assert api.get(f"{USERS}foouser@T1.EXAMPLE/").json() == user


def test_bare_user_id_gets_default_domain(api: TestClient) -> None:
    make_tenant(api, "t1")
    make_group(api, "t1", "g1")
    default = api.get("/api/v1/settings/").json()["DEFAULT_DOMAIN"]
    user = make_user(api, "t1", "g1", "alice")
    assert user["userId"] == f"alice@{default}"
    assert api.get(f"{USERS}Alice/").json()["userId"] == f"alice@{default}"
    assert api.patch(f"{USERS}alice/", json={"title": "Boss"}).json()["title"] == "Boss"
    assert api.delete(f"{USERS}alice/").status_code == 204


def test_user_ids_must_use_the_tenants_own_domain(api: TestClient) -> None:
    make_tree(api, "t1", "g1", "t1.example")
    make_tree(api, "t2", "g2", "t2.example")
    response = api.post(USERS, json=user_body("spy@t2.example"))
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "userId"
    response = api.post(USERS, json=user_body("x@unassigned.example"))
    assert response.status_code == 400
    make_user(api, "t1", "g1", "ok@t1.example")


def test_user_ids_are_unique_across_the_system_and_across_kinds(api: TestClient) -> None:
    make_tree(api)
    make_group(api, "t1", "g2")
    make_user(api, "t1", "g1", "bob@t1.example")
    again = api.post("/api/v1/tenants/t1/groups/g2/users/", json=user_body("BOB@t1.example"))
    assert again.status_code == 409
    service = api.post(
        "/api/v1/tenants/t1/groups/g1/services/ivrs/",
        json={"serviceUserId": "bob@t1.example", "serviceInstanceProfile": {"name": "IVR"}},
    )
    assert service.status_code == 409


def test_extensions_are_unique_within_a_tenant_not_across_tenants(api: TestClient) -> None:
    make_tree(api, "t1", "g1", "t1.example")
    make_tree(api, "t2", "g2", "t2.example")
    make_group(api, "t1", "g9")
    make_user(api, "t1", "g1", "a@t1.example", extension="410")
    clash = api.post("/api/v1/tenants/t1/groups/g9/users/", json=user_body("b@t1.example", extension="410"))
    assert clash.status_code == 409
    ivr = api.post(
        "/api/v1/tenants/t1/groups/g1/services/ivrs/",
        json={
            "serviceUserId": "ivr@t1.example",
            "serviceInstanceProfile": {"name": "IVR", "extension": "410"},
        },
    )
    assert ivr.status_code == 409
    make_user(api, "t2", "g2", "a@t2.example", extension="410")
    make_user(api, "t1", "g1", "c@t1.example", extension="411")
    assert api.patch(f"{USERS}c@t1.example/", json={"extension": "410"}).status_code == 409
    assert api.patch(f"{USERS}a@t1.example/", json={"extension": "410"}).status_code == 200


def test_user_paths_that_do_not_belong_together_are_identical_404s(api: TestClient) -> None:
    make_tree(api, "t1", "g1", "t1.example")
    make_group(api, "t1", "g2")
    make_user(api, "t1", "g1", "u@t1.example")
    answers = [
        api.get("/api/v1/tenants/t1/groups/g1/users/nobody@t1.example/"),
        api.get("/api/v1/tenants/t1/groups/g2/users/u@t1.example/"),
        api.get("/api/v1/tenants/zz/groups/g1/users/u@t1.example/"),
        api.get("/api/v1/tenants/t1/groups/zz/users/u@t1.example/"),
    ]
    assert {a.status_code for a in answers} == {404}
    assert len({a.content for a in answers}) == 1
    assert api.patch("/api/v1/tenants/t1/groups/g2/users/u@t1.example/", json={}).status_code == 404
    assert api.delete("/api/v1/tenants/t1/groups/g2/users/u@t1.example/").status_code == 404
    assert api.post("/api/v1/tenants/t1/groups/zz/users/", json=user_body("n@t1.example")).status_code == 404


def test_user_update_and_validation(api: TestClient) -> None:
    make_tree(api)
    make_user(api, "t1", "g1", "u@t1.example", extension="100")
    updated = api.patch(
        f"{USERS}u@t1.example/", json={"firstName": "Ann", "lastName": None, "trunkAddressing": None}
    )
    assert updated.status_code == 200
    assert updated.json()["firstName"] == "Ann"
    assert updated.json()["lastName"] == "User"
    for body, field in [
        ({"userId": "v@t1.example"}, "userId"),
        ({"extension": "12a"}, "extension"),
        ({"department": {"departmentName": "Nope"}}, "department.departmentName"),
        ({"department": {"departmentName": "X", "groupId": "other"}}, "department.groupId"),
        ({"devices": [{"deviceType": "no name"}]}, "devices.0.deviceName"),
    ]:
        response = api.patch(f"{USERS}u@t1.example/", json=body)
        assert response.status_code == 400, (body, response.text)
        assert field in [e["field"] for e in response.json()["errors"]], response.json()
    for body in (
        user_body("bad user@t1.example"),
        user_body("u2@t1.example", firstName=""),
        {"userId": "u3"},
    ):
        assert api.post(USERS, json=body).status_code == 400


def test_domains_are_managed_per_tenant(api: TestClient) -> None:
    make_tenant(api, "t1")
    make_tenant(api, "t2")
    make_group(api, "t1", "g1")
    assert make_domain(api, "t1", "Sales.T1.example") == {"domain": "sales.t1.example", "tenantId": "t1"}
    assert api.post("/api/v1/tenants/t2/domains/", json={"domain": "sales.t1.example"}).status_code == 409
    default = api.get("/api/v1/settings/").json()["DEFAULT_DOMAIN"]
    assert api.post("/api/v1/tenants/t2/domains/", json={"domain": default}).status_code == 409
    assert api.post("/api/v1/tenants/t2/domains/", json={"domain": "not a domain"}).status_code == 400
    assert api.get("/api/v1/tenants/t1/domains/").json()["domains"] == [
        {"domain": "sales.t1.example", "tenantId": "t1"}
    ]
    make_user(api, "t1", "g1", "u@sales.t1.example")
    assert api.delete("/api/v1/tenants/t1/domains/sales.t1.example/").status_code == 409
    api.delete("/api/v1/tenants/t1/groups/g1/users/u@sales.t1.example/")
    assert api.delete("/api/v1/tenants/t2/domains/sales.t1.example/").status_code == 404
    assert api.delete("/api/v1/tenants/t1/domains/sales.t1.example/").status_code == 204
    assert api.get("/api/v1/tenants/t1/domains/").json()["domains"] == []
    assert api.get("/api/v1/tenants/none/domains/").status_code == 404


def test_settings_default_domain(api: TestClient) -> None:
    make_tree(api)
    assert api.patch("/api/v1/settings/", json={"DEFAULT_DOMAIN": "Corp.Example"}).json() == {
        "DEFAULT_DOMAIN": "corp.example",
        "END_USER_NAME": "{{first_name}} {{last_name}}",
        "noojeeSubscribeMaxWaitSeconds": 4.0,
        "noojeeAcceptGet": False,
    }
    assert api.get("/api/v1/settings/").json()["DEFAULT_DOMAIN"] == "corp.example"
    assert make_user(api, "t1", "g1", "dana")["userId"] == "dana@corp.example"
    assert api.get(f"{USERS}dana/").status_code == 200
    assert api.patch("/api/v1/settings/", json={"DEFAULT_DOMAIN": "t1.example"}).status_code == 409
    assert api.patch("/api/v1/settings/", json={"DEFAULT_DOMAIN": "-bad-"}).status_code == 400
    assert api.patch("/api/v1/settings/", json={"GLOBAL_API_KEYS": []}).status_code == 400
    assert "GLOBAL_API_KEYS" not in api.get("/api/v1/settings/").json()


def test_user_external_ids_are_stored_patched_and_matched_within_what_the_caller_sees(
    api: TestClient, anonymous: TestClient
) -> None:
    make_tree(api)
    made = make_user(api, "t1", "g1", "a@t1.example", externalId1="E", externalId3="three")
    assert (made["externalId1"], made["externalId2"], made["externalId3"]) == ("E", None, "three")
    make_user(api, "t1", "g1", "b@t1.example", externalId1="E")
    make_user(api, "t1", "g1", "c@t1.example", externalId1="e")
    patched = api.patch(f"{USERS}b@t1.example/", json={"externalId2": "crm 7", "title": "Agent"})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["externalId1"], patched.json()["externalId2"]) == ("E", "crm 7")
    cleared = api.patch(f"{USERS}a@t1.example/", json={"externalId3": None})
    assert cleared.json()["externalId3"] is None
    assert api.get(f"{USERS}a@t1.example/").json()["externalId3"] is None

    def listed(query: str, client: TestClient = api, **headers: str) -> tuple[set[str], int]:
        response = client.get(f"{USERS}?{query}", headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        return {user["userId"] for user in body["users"]}, body["total"]

    assert listed("externalId1=E") == ({"a@t1.example", "b@t1.example"}, 2)
    assert listed("externalId2=crm%207") == ({"b@t1.example"}, 1)
    assert listed("externalId1=E&externalId2=crm 7") == ({"b@t1.example"}, 1)
    # An end user sees itself only: the filter runs inside its view, the total counts that view.
    make_account(api, "eu-a", "user", "t1", "g1", linked="a@t1.example")
    token = login(anonymous, "eu-a")
    assert listed("externalId1=E", anonymous, Authorization=f"Bearer {token}") == ({"a@t1.example"}, 1)
    assert listed("externalId2=crm 7", anonymous, Authorization=f"Bearer {token}") == (set(), 0)
