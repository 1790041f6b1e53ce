"""Small builders for request bodies and objects created through the API."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient


def created(response: Any, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def make_tenant(api: TestClient, tenant_id: str = "t1", **fields: Any) -> dict[str, Any]:
    body = {"tenantId": tenant_id, "type": "Enterprise", "name": f"Tenant {tenant_id}", **fields}
    return created(api.post("/api/v1/tenants/", json=body))


def make_domain(api: TestClient, tenant_id: str, domain: str) -> dict[str, Any]:
    return created(api.post(f"/api/v1/tenants/{tenant_id}/domains/", json={"domain": domain}))


def make_group(api: TestClient, tenant_id: str = "t1", group_id: str = "g1", **fields: Any) -> dict[str, Any]:
    body = {"groupId": group_id, "groupName": f"Group {group_id}", **fields}
    return created(api.post(f"/api/v1/tenants/{tenant_id}/groups/", json=body))


def user_body(user_id: str, **fields: Any) -> dict[str, Any]:
    return {"userId": user_id, "firstName": "Test", "lastName": "User", **fields}


def make_user(api: TestClient, tenant_id: str, group_id: str, user_id: str, **fields: Any) -> dict[str, Any]:
    return created(
        api.post(f"/api/v1/tenants/{tenant_id}/groups/{group_id}/users/", json=user_body(user_id, **fields))
    )


def make_tree(
    api: TestClient, tenant_id: str = "t1", group_id: str = "g1", domain: str = "t1.example"
) -> None:
    make_tenant(api, tenant_id)
    make_domain(api, tenant_id, domain)
    make_group(api, tenant_id, group_id)
