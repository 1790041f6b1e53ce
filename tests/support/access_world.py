"""A small two-tenant world with one principal of every kind, built through the API."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from starlette.testclient import TestClient

from tests.support.factories import created, make_domain, make_group, make_tenant, make_user

PASSWORD = "correct horse battery staple"


@dataclass
class World:
    """Ids of the objects, and a credential (Authorization header value) per principal."""

    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    token: str = response.json()["accessToken"]
    return token


def make_account(
    client: TestClient,
    username: str,
    role: str,
    tenant: str | None = None,
    group: str | None = None,
    linked: str | None = None,
) -> dict[str, object]:
    body: dict[str, object] = {"username": username, "password": PASSWORD, "role": role}
    if tenant:
        body["tenantId"] = tenant
    if group:
        body["groupId"] = group
    if linked:
        body["linkedUserId"] = linked
    return created(client.post("/api/v1/accounts/", json=body))


def build_world(api: TestClient, global_key: str) -> World:
    """t1 (groups g1, g2) and t2 (group g1); users, an IVR each, departments; six principals (the
    sixth: a tenant key of t1)."""
    world = World()
    for tenant in ("t1", "t2"):
        make_tenant(api, tenant)
        make_domain(api, tenant, f"{tenant}.example")
        make_group(api, tenant, "g1")
        api.post(f"/api/v1/tenants/{tenant}/departments/", json={"name": "Ops"})
    make_group(api, "t1", "g2")
    make_user(api, "t1", "g1", "u1@t1.example", extension="101")
    make_user(api, "t1", "g1", "u2@t1.example", extension="102")
    make_user(api, "t1", "g2", "u3@t1.example", extension="103")
    make_user(api, "t2", "g1", "u4@t2.example", extension="101")
    for tenant in ("t1", "t2"):
        created(
            api.post(
                f"/api/v1/tenants/{tenant}/groups/g1/services/ivrs/",
                json={"serviceUserId": f"ivr@{tenant}.example", "serviceInstanceProfile": {"name": "IVR"}},
            )
        )
    make_account(api, "ta1", "tenant_admin", "t1")
    make_account(api, "ga1", "group_admin", "t1", "g1")
    make_account(api, "eu1", "user", "t1", "g1", linked="u1@t1.example")
    make_account(api, "ta2", "tenant_admin", "t2")
    world.headers["system"] = {"Authorization": f"Bearer {global_key}"}
    for name, username in (("tenant_admin", "ta1"), ("group_admin", "ga1"), ("user", "eu1")):
        world.headers[name] = {"Authorization": f"Bearer {login(api, username)}"}
    key = created(api.post("/api/v1/accounts/ta1/api-keys/", json={"name": "crm"}))["key"]
    world.headers["user_key"] = {"Authorization": f"Bearer {key}"}
    tenant_key = created(api.post("/api/v1/tenants/t1/tenant-keys/", json={"name": "noojee"}))["key"]
    world.headers["tenant_key"] = {"Authorization": f"Bearer {tenant_key}"}
    return world


def eventually_status(client: TestClient, path: str, key: str, status: int, seconds: float = 5) -> None:
    """Wait until `key` gets `status` on `path`: a change written by another app (another process,
    as far as the change feed knows) reaches this one's credential cache within a moment."""
    deadline = time.monotonic() + seconds
    while (got := client.get(path, headers={"Authorization": f"Bearer {key}"}).status_code) != status:
        assert time.monotonic() < deadline, f"still {got}, not {status}"
        time.sleep(0.05)


def add_campaign_team(api: TestClient, world: World) -> None:
    """On top of build_world: eu2 (an agent of t1/g1 on u2's extension 102, signed in as
    "agent2"), team A of eu1 and eu2, template TA of team A and its campaign cTA. ga1, their
    group admin, is in no team: it does not see cTA, its leads, or eu1's and eu2's calls."""
    make_account(api, "eu2", "user", "t1", "g1", linked="u2@t1.example")
    world.headers["agent2"] = {"Authorization": f"Bearer {login(api, 'eu2')}"}
    created(api.post("/api/v1/tenants/t1/teams/", json={"name": "A"}))
    for member in ("eu1", "eu2"):
        created(api.post("/api/v1/tenants/t1/teams/A/members/", json={"username": member}), 200)
    template = created(api.post("/api/v1/tenants/t1/campaign-templates/", json={"name": "TA", "team": "A"}))
    campaign = created(
        api.post("/api/v1/tenants/t1/campaigns/", json={"name": "cTA", "templateId": template["id"]})
    )
    world.ids["template"], world.ids["campaign"] = str(template["id"]), str(campaign["id"])
    world.ids["leads"] = f"/api/v1/tenants/t1/campaigns/{campaign['id']}/leads/"
    created(api.post(world.ids["leads"], json={"leads": [{"externalId": "L1"}]}), 200)


def add_resellers(api: TestClient, world: World) -> None:
    """On top of build_world: reseller R1 owns t1, R2 owns t2; ra1, R1's admin, signed in as
    "reseller_admin"."""
    for reseller, tenant in (("R1", "t1"), ("R2", "t2")):
        created(api.post("/api/v1/local/resellers/", json={"name": reseller}))
        created(api.patch(f"/api/v1/tenants/{tenant}/", json={"resellerId": reseller}), 200)
    created(api.post("/api/v1/local/resellers/R1/admins/", json={"username": "ra1", "password": PASSWORD}))
    world.headers["reseller_admin"] = {"Authorization": f"Bearer {login(api, 'ra1')}"}
