"""Accounts: the escalation guard, links to the directory, and changes that apply at once."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.support.access_world import PASSWORD, build_world, login, make_account

A = "/api/v1/accounts/"


def _post(api: TestClient, headers: dict[str, str], **body: object) -> int:
    payload = {"password": PASSWORD, **body}
    return api.post(A, json=payload, headers=headers).status_code


def test_escalation_guard(api: TestClient, global_key: str) -> None:
    w = build_world(api, global_key)
    ta, ga, eu = w.headers["tenant_admin"], w.headers["group_admin"], w.headers["user"]
    # A tenant admin grants at most tenant admin, inside its own tenant (names in its namespace).
    assert _post(api, ta, username="t1.x1", role="system") == 403
    assert _post(api, ta, username="t1.x2", role="tenant_admin", tenantId="t1") == 201
    assert _post(api, ta, username="t1.x3", role="group_admin", tenantId="t1", groupId="g2") == 201
    assert _post(api, ta, username="t1.x4", role="user", tenantId="t2", groupId="g1") == 404
    # A group admin grants only end-user accounts of its own group.
    assert _post(api, ga, username="t1.x5", role="group_admin", tenantId="t1", groupId="g1") == 403
    assert _post(api, ga, username="t1.x6", role="user", tenantId="t1", groupId="g2") == 403
    assert _post(api, ga, username="t1.x7", role="user", tenantId="t1", groupId="g1") == 201
    # An end user grants nothing.
    assert _post(api, eu, username="t1.x8", role="user", tenantId="t1", groupId="g1") == 403
    # Nobody raises an account they manage above their own reach.
    assert (
        api.patch(f"{A}t1.x7/", json={"role": "tenant_admin"}, headers=ga).status_code == 400
    )  # needs groupId null
    assert (
        api.patch(f"{A}t1.x7/", json={"role": "tenant_admin", "groupId": None}, headers=ga).status_code == 403
    )
    assert (
        api.patch(
            f"{A}t1.x3/", json={"role": "system", "tenantId": None, "groupId": None}, headers=ta
        ).status_code
        == 403
    )
    assert api.patch(f"{A}t1.x3/", json={"tenantId": "t2", "groupId": "g1"}, headers=ta).status_code == 404
    # Nor their own account.
    assert api.patch(f"{A}ta1/", json={"role": "system"}, headers=ta).status_code == 403
    assert api.patch(f"{A}eu1/", json={"enabled": False}, headers=eu).status_code == 403
    assert (
        api.patch(
            f"{A}eu1/", json={"displayName": "Me", "password": "another long password"}, headers=eu
        ).status_code
        == 200
    )


def test_role_and_scope_must_agree(api: TestClient, global_key: str) -> None:
    build_world(api, global_key)
    h = {"Authorization": f"Bearer {global_key}"}
    for body, field in [
        ({"username": "a", "role": "tenant_admin"}, "tenantId"),
        ({"username": "b", "role": "system", "tenantId": "t1"}, "tenantId"),
        ({"username": "c", "role": "group_admin", "tenantId": "t1"}, "groupId"),
        ({"username": "d", "role": "tenant_admin", "tenantId": "t1", "groupId": "g1"}, "groupId"),
        ({"username": "e", "role": "user", "tenantId": "t1", "groupId": "nope"}, "groupId"),
        ({"username": "f", "role": "emperor"}, "role"),
        ({"username": "g", "role": "user", "tenantId": "t1", "password": "short"}, "password"),
    ]:
        response = api.post(A, json={"password": PASSWORD, **body}, headers=h)
        assert response.status_code == 400, (body, response.text)
        assert field in response.json()["detail"]
    assert _post(api, h, username="TA1", role="user", tenantId="t1") == 409  # usernames are case-insensitive


def test_linked_user_must_be_inside_the_accounts_scope(api: TestClient, global_key: str) -> None:
    w = build_world(api, global_key)
    h = w.headers["system"]
    assert (
        _post(api, h, username="l1", role="user", tenantId="t1", groupId="g1", linkedUserId="u4@t2.example")
        == 400
    )
    assert (
        _post(api, h, username="l2", role="user", tenantId="t1", groupId="g1", linkedUserId="u3@t1.example")
        == 400
    )
    response = api.post(
        A,
        json={
            "password": PASSWORD,
            "username": "l3",
            "role": "user",
            "tenantId": "t1",
            "groupId": "g1",
            "linkedUserId": "u2@t1.example",
        },
        headers=h,
    )
    assert response.status_code == 201
    assert response.json()["extension"] == "102"
    # A tenant admin cannot link to a user it cannot see (another tenant's): same 400 as missing.
    ta = w.headers["tenant_admin"]
    assert (
        api.patch(f"{A}l3/", json={"linkedUserId": "u4@t2.example"}, headers=ta).json()["detail"]
        == api.patch(f"{A}l3/", json={"linkedUserId": "nobody@t1.example"}, headers=ta).json()["detail"]
    )


def test_role_change_and_disable_apply_to_existing_tokens_at_once(api: TestClient, global_key: str) -> None:
    w = build_world(api, global_key)
    system = w.headers["system"]
    make_account(api, "boss", "tenant_admin", "t1")
    token = {"Authorization": f"Bearer {login(api, 'boss')}"}
    assert api.get("/api/v1/tenants/t1/groups/g2/", headers=token).status_code == 200
    assert (
        api.patch(f"{A}boss/", json={"role": "group_admin", "groupId": "g1"}, headers=system).status_code
        == 200
    )
    assert api.get("/api/v1/tenants/t1/groups/g2/", headers=token).status_code == 404
    assert api.patch(f"{A}boss/", json={"enabled": False}, headers=system).status_code == 200
    assert api.get("/api/v1/tenants/t1/", headers=token).status_code == 401
    assert api.post("/api/v1/auth/login", json={"username": "boss", "password": PASSWORD}).status_code == 401


def test_delete_account(api: TestClient, global_key: str) -> None:
    w = build_world(api, global_key)
    make_account(api, "gone", "user", "t1", "g1")
    token = {"Authorization": f"Bearer {login(api, 'gone')}"}
    assert api.delete(f"{A}gone/", headers=w.headers["group_admin"]).status_code == 204
    assert api.get("/api/v1/tenants/t1/", headers=token).status_code == 401
    assert api.delete(f"{A}ta1/", headers=w.headers["tenant_admin"]).status_code == 409
    assert api.delete(f"{A}ta2/", headers=w.headers["tenant_admin"]).status_code == 404


def test_deleting_a_tenant_or_group_ends_its_accounts_credentials_at_once(
    api: TestClient, global_key: str
) -> None:
    w = build_world(api, global_key)
    group_token = w.headers["group_admin"]
    assert api.get("/api/v1/tenants/t1/", headers=group_token).status_code == 200
    assert api.delete("/api/v1/tenants/t1/groups/g1/?deleteNonEmpty=1").status_code == 204
    assert api.get("/api/v1/tenants/t1/", headers=group_token).status_code == 401
    tenant_token, user_key = w.headers["tenant_admin"], w.headers["user_key"]
    assert api.get("/api/v1/tenants/t1/", headers=tenant_token).status_code == 200
    assert api.delete("/api/v1/tenants/t1/?deleteNonEmpty=1").status_code == 204
    assert api.get("/api/v1/tenants/", headers=tenant_token).status_code == 401
    assert api.get("/api/v1/tenants/", headers=user_key).status_code == 401
