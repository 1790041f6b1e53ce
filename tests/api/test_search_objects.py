"""Seed 003: GET /api/v1/search/objects/, exactly as published."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from starlette.testclient import TestClient

from tests.support.access_world import build_world, login, make_account
from tests.support.factories import created, make_domain, make_group, make_tenant
from tests.support.seed_003 import SEED_RESPONSE, SEED_USER
from tests.support.timing import compare

S = "/api/v1/search/objects/"


def _same_shape(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Every key of `expected` is in `actual`, with the same nesting and JSON type."""
    problems = []
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object"]
        for key, value in expected.items():
            if key not in actual:
                problems.append(f"{path}.{key}: missing")
            else:
                problems += _same_shape(value, actual[key], f"{path}.{key}")
    elif type(expected) is not type(actual):
        problems.append(f"{path}: {type(actual).__name__} instead of {type(expected).__name__}")
    return problems


def _seed_world(api: TestClient) -> None:
    make_tenant(api, "foo", type="ServiceProvider", useCustomRoutingProfile=True)
    group = SEED_RESPONSE["group"]
    make_group(
        api,
        "foo",
        "fooGroup",
        groupName=group["groupName"],
        userLimit=25,
        cliPhoneNumber=group["cliPhoneNumber"],
        timeZone=group["timeZone"],
        addressInformation=group["addressInformation"],
    )
    api.post("/api/v1/tenants/foo/groups/fooGroup/departments/", json={"name": "test_department_parent_1"})
    api.post(
        "/api/v1/tenants/foo/groups/fooGroup/departments/",
        json={"name": "test_department_initial", "parent": "test_department_parent_1"},
    )
    created(
        api.post(
            "/api/v1/tenants/foo/groups/fooGroup/users/",
            json={
                "userId": "foo",
                **SEED_USER,
                "department": {"departmentName": "test_department_initial", "groupId": "fooGroup"},
                "devices": [{"deviceName": "desk"}],
                "trunkAddressing": {"trunkGroupName": "tg"},
            },
        )
    )


def test_the_seed_example_request_gets_the_seed_shape(api: TestClient) -> None:
    _seed_world(api)
    body = {"tenant_id": "Foo", "group_id": "FooGroup", "user_id": "Foo", "type": "user"}
    response = api.request("GET", S, json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert _same_shape(SEED_RESPONSE, answer) == []
    default = api.get("/api/v1/settings/").json()["DEFAULT_DOMAIN"]
    assert answer["tenant"]["tenantId"] == answer["tenant"]["id"] == "foo"  # asked "Foo", returned as stored
    assert answer["group"]["id"] == "fooGroup"
    assert answer["user"]["userId"] == answer["user"]["id"] == f"foo@{default}"
    assert answer["user"]["name"] == "Test Test"
    assert answer["user"]["department"] == SEED_RESPONSE["user"]["department"]
    assert "devices" not in answer["user"]
    assert "trunkAddressing" not in answer["user"]
    assert set(answer["user"]) == set(SEED_RESPONSE["user"])  # no other fields
    # The same search as query parameters, as POST, and without the trailing slash.
    assert api.get(S, params=body).json() == answer
    assert api.post(S, json=body).json() == answer
    assert api.request("GET", S.rstrip("/"), json=body, follow_redirects=False).json() == answer


def test_optional_levels(api: TestClient) -> None:
    _seed_world(api)
    only_tenant = api.post(S, json={"tenant_id": "foo"}).json()
    assert set(only_tenant) == {"tenant"}
    with_group = api.post(S, json={"tenant_id": "foo", "group_id": "fooGroup"}).json()
    assert set(with_group) == {"tenant", "group"}
    assert with_group["group"]["userCount"] == 1
    # A valid type without user_id is ignored.
    assert api.post(S, json={"tenant_id": "foo", "type": "ivr"}).json() == only_tenant
    # user is the default type.
    user = api.post(S, json={"tenant_id": "foo", "group_id": "fooGroup", "user_id": "FOO"}).json()
    assert user["user"]["userType"] == "user"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "tenant_id"),
        ({"group_id": "g"}, "tenant_id"),
        ({"tenant_id": "foo", "user_id": "u"}, "group_id"),
        ({"tenant_id": "foo", "group_id": "g", "user_id": "u", "type": "voicemail"}, "type"),
        ({"tenant_id": "foo", "type": "User"}, "type"),
        ({"tenant_id": "foo", "colour": "red"}, "colour"),
        ({"tenant_id": 42}, "tenant_id"),
        ({"tenant_id": ["foo"]}, "tenant_id"),
        ({"tenant_id": "foo", "group_id": None, "user_id": "u"}, "group_id"),
        ({"tenant_id": ""}, "tenant_id"),
        ({"tenant_id": "x" * 81}, "tenant_id"),
    ],
)
def test_invalid_searches_are_400_naming_the_field(api: TestClient, body: dict[str, Any], field: str) -> None:
    for response in (api.request("GET", S, json=body), api.post(S, json=body)):
        assert response.status_code == 400, (body, response.text)
        assert response.json()["errors"][0]["field"] == field


def test_malformed_requests_are_400(api: TestClient) -> None:
    headers = {"Content-Type": "application/json"}
    for content in (b'{"tenant_id": ', b"[1, 2]", b'"foo"', b"\xff\xfe"):
        response = api.request("GET", S, content=content, headers=headers)
        assert response.status_code == 400, content
    both = api.request("GET", S, params={"tenant_id": "a"}, json={"tenant_id": "a"})
    assert both.status_code == 400
    assert api.get(f"{S}?tenant_id=a&tenant_id=b").status_code == 400
    assert api.get(S, params={"tenant_id": "a", "extra": "1"}).status_code == 400
    assert api.post(S).status_code == 400


def test_identical_404s_for_missing_forbidden_and_mismatched(api: TestClient, global_key: str) -> None:
    w = build_world(api, global_key)
    eu = w.headers["user"]
    asks = {
        "missing tenant": {"tenant_id": "nope"},
        "missing group": {"tenant_id": "t1", "group_id": "nope"},
        "missing user": {"tenant_id": "t1", "group_id": "g1", "user_id": "nobody@t1.example"},
        "other tenant": {"tenant_id": "t2"},
        "other user of own group": {"tenant_id": "t1", "group_id": "g1", "user_id": "u2@t1.example"},
        "own group's ivr": {"tenant_id": "t1", "group_id": "g1", "user_id": "ivr@t1.example", "type": "ivr"},
        "sibling group": {"tenant_id": "t1", "group_id": "g2"},
        "group not in tenant": {"tenant_id": "t2", "group_id": "g2"},
        "user not in group": {"tenant_id": "t1", "group_id": "g2", "user_id": "u1@t1.example"},
        "type mismatch": {
            "tenant_id": "t1",
            "group_id": "g1",
            "user_id": "u1@t1.example",
            "type": "hunt group",
        },
    }
    answers = {name: api.post(S, json=body, headers=eu) for name, body in asks.items()}
    reference = answers["missing tenant"]
    for name, response in answers.items():
        assert response.status_code == 404, name
        assert response.content == reference.content, name
        headers = {k: v for k, v in response.headers.items() if k not in ("date", "x-request-id")}
        assert headers == {k: v for k, v in reference.headers.items() if k not in ("date", "x-request-id")}, (
            name
        )


def test_each_level_sees_exactly_what_design_section_2_says(api: TestClient, global_key: str) -> None:
    w = build_world(api, global_key)
    created(
        api.post(
            "/api/v1/tenants/t1/groups/g1/services/hunt_groups/",
            json={"serviceUserId": "hg@t1.example", "serviceInstanceProfile": {"name": "HG"}},
        )
    )

    def status(who: str, **body: str) -> int:
        return api.post(S, json=body, headers=w.headers[who]).status_code

    u1 = {"tenant_id": "t1", "group_id": "g1", "user_id": "u1@t1.example"}
    u2 = {"tenant_id": "t1", "group_id": "g1", "user_id": "u2@t1.example"}
    u3 = {"tenant_id": "t1", "group_id": "g2", "user_id": "u3@t1.example"}
    u4 = {"tenant_id": "t2", "group_id": "g1", "user_id": "u4@t2.example"}
    ivr = {"tenant_id": "t1", "group_id": "g1", "user_id": "ivr@t1.example", "type": "ivr"}
    hunt = {"tenant_id": "t1", "group_id": "g1", "user_id": "hg@t1.example", "type": "hunt group"}
    expected = {
        # who: (u1, u2, u3, u4, ivr, hunt group, tenant t1, group g1, group g2)
        "system": (200, 200, 200, 200, 200, 200, 200, 200, 200),
        "tenant_admin": (200, 200, 200, 404, 200, 200, 200, 200, 200),
        "group_admin": (200, 200, 404, 404, 200, 200, 200, 200, 404),
        "user": (200, 404, 404, 404, 404, 404, 200, 200, 404),
        "user_key": (403,) * 9,
    }
    for who, codes in expected.items():
        got = (
            status(who, **u1),
            status(who, **u2),
            status(who, **u3),
            status(who, **u4),
            status(who, **ivr),
            status(who, **hunt),
            status(who, tenant_id="t1"),
            status(who, tenant_id="t1", group_id="g1"),
            status(who, tenant_id="t1", group_id="g2"),
        )
        assert got == codes, who
    assert api.post(S, json={"tenant_id": "t1"}, headers={"Authorization": ""}).status_code == 401


def test_user_types_are_transformed_as_the_seed_says(api: TestClient) -> None:
    make_tenant(api, "t1")
    make_domain(api, "t1", "t1.example")
    make_group(api, "t1", "g1")
    api.post("/api/v1/tenants/t1/departments/", json={"name": "Ops"})
    base = "/api/v1/tenants/t1/groups/g1/services"
    profile = {
        "name": "N",
        "callingLineIdLastName": "L",
        "callingLineIdFirstName": "F",
        "phoneNumber": "+321",
        "extension": "700",
        "language": "English",
        "timeZone": "Europe/Brussels",
        "aliases": ["a"],
        "department": {"departmentName": "Ops"},
    }
    cases = [
        ("call_centers", "cq", {"type": "Basic", "policy": "Weighted"}, "call queue", "call queue", "Basic"),
        ("call_centers", "cc", {"type": "Standard"}, "call center", "call center", "Standard"),
        ("call_centers", "pcc", {"type": "Premium"}, "premium call center", "premium call center", "Premium"),
        ("call_centers", "pcc2", {"type": "Premium"}, "call queue", "premium call center", "Premium"),
        ("ivrs", "ivr", {"type": "Standard"}, "ivr", "ivr", "Standard"),
        ("hunt_groups", "hg", {"policy": "Uniform"}, "hunt group", "hunt group", None),
        ("route_points", "rp", {"queueLength": 3}, "route point", "route point", None),
    ]
    for n, (segment, local, extra, asked, user_type, instance_type) in enumerate(cases):
        created(
            api.post(
                f"{base}/{segment}/",
                json={
                    "serviceUserId": f"{local}@t1.example",
                    "serviceInstanceProfile": {**profile, "extension": str(700 + n)},
                    **extra,
                },
            )
        )
        body = {"tenant_id": "t1", "group_id": "g1", "user_id": f"{local}@t1.example", "type": asked}
        user = api.post(S, json=body).json()["user"]
        expected_keys = {"userId", "id", "userType", *profile}
        if instance_type:
            expected_keys.add("type")
        assert set(user) == expected_keys, (segment, set(user) ^ expected_keys)
        assert user["userType"] == user_type
        assert user.get("type") == instance_type
        assert user["userId"] == user["id"] == f"{local}@t1.example"
        assert user["department"] == {
            "tenantId": "t1",
            "groupId": None,
            "departmentName": "Ops",
            "fullPathName": "Ops",
        }
        assert user["aliases"] == ["a"]


def test_end_user_name_setting(api: TestClient) -> None:
    _seed_world(api)
    body = {"tenant_id": "foo", "group_id": "fooGroup", "user_id": "foo"}
    assert api.get("/api/v1/settings/").json()["END_USER_NAME"] == "{{first_name}} {{last_name}}"
    for template, expected in [
        ("{{last_name}}, {{first_name}}", "Test, Test"),
        ("{first_name}} {{last_name}}", "Test Test"),  # the seed's own spelling
        ("{first_name} {last_name}", "Test Test"),
        ("Agent {{ first_name }}", "Agent Test"),
    ]:
        saved = api.patch("/api/v1/settings/", json={"END_USER_NAME": template})
        assert saved.status_code == 200
        assert api.post(S, json=body).json()["user"]["name"] == expected, template
    for bad in ("{{first_name}} {{middle_name}}", "{{email}}", ""):
        response = api.patch("/api/v1/settings/", json={"END_USER_NAME": bad})
        assert response.status_code == 400, bad
        assert response.json()["errors"][0]["field"] == "END_USER_NAME"


@pytest.mark.timing
def test_missing_and_forbidden_take_the_same_time(api: TestClient, global_key: str) -> None:
    w = build_world(api, global_key)
    make_account(api, "ta2b", "tenant_admin", "t2")
    headers = {"Authorization": f"Bearer {login(api, 'ta2b')}"}
    missing = {"tenant_id": "t2", "group_id": "g1", "user_id": "nobody@t2.example"}
    forbidden = {"tenant_id": "t1", "group_id": "g1", "user_id": "u1@t1.example"}  # exists, not t2's
    del w

    def not_found(response: httpx2.Response) -> None:
        assert response.status_code == 404

    result = compare(
        lambda: api.post(S, json=missing, headers=headers),
        lambda: api.post(S, json=forbidden, headers=headers),
        pairs=300,
        check=not_found,
    )
    print(result)
    assert result.same, result
