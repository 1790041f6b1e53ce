"""Resellers (issue 23): APIO's /local/resellers/, tenants' resellerId, and reseller admins, whose
view is the tenants their reseller owns (the policy's reseller_admin rows)."""

from __future__ import annotations

from starlette.testclient import TestClient

from switchboard.access.explain import explain, principal_for
from switchboard.db.engine import Database
from tests.support.access_world import PASSWORD, World, add_resellers, build_world, login, make_account
from tests.support.factories import created, make_group, make_tenant

LOCAL = "/api/v1/local/resellers"


def _world(api: TestClient, global_key: str) -> World:
    world = build_world(api, global_key)
    add_resellers(api, world)
    return world


def test_resellers_as_apio_documents_them(api: TestClient, global_key: str) -> None:
    """APIO's shapes: name and externalName; the list under "resellers", admins under "admins";
    a name taken (whatever its case) is 409, ours as problem+json."""
    made = created(api.post(f"{LOCAL}/", json={"name": "ApioReseller", "externalName": "Best Reseller"}))
    assert made == {"name": "ApioReseller", "externalName": "Best Reseller"}
    taken = api.post(f"{LOCAL}/", json={"name": "apioreseller"})
    assert taken.status_code == 409, taken.text
    assert taken.headers["content-type"] == "application/problem+json"
    assert api.get(f"{LOCAL}/APIORESELLER/").json() == made
    listed = api.get(f"{LOCAL}/").json()
    assert listed == {"resellers": [made], "total": 1, "nextCursor": None}
    changed = api.put(f"{LOCAL}/ApioReseller/", json={"externalName": "Better"})
    assert created(changed, 200)["externalName"] == "Better"
    admin = created(api.post(f"{LOCAL}/ApioReseller/admins/", json={"username": "ra", "password": PASSWORD}))
    assert (admin["role"], admin["resellerId"], admin["tenantId"]) == ("reseller_admin", "ApioReseller", None)
    admins = api.get(f"{LOCAL}/ApioReseller/admins/").json()
    assert [a["username"] for a in admins["admins"]] == ["ra"]
    assert admins["total"] == 1
    assert api.get(f"{LOCAL}/nope/").status_code == 404
    # A name no reseller could have is not found, as a missing one (the fuzz once got a 500).
    ghost = api.post(f"{LOCAL}/bad%20name/admins/", json={"username": "x1", "password": PASSWORD})
    assert ghost.status_code == 404, ghost.text
    assert api.post(f"{LOCAL}/", json={"name": "bad name"}).status_code == 400


def test_a_tenant_shows_and_changes_its_reseller(api: TestClient, global_key: str) -> None:
    created(api.post(f"{LOCAL}/", json={"name": "R1"}))
    tenant = make_tenant(api, "acme", resellerId="R1")
    assert tenant["resellerId"] == "R1"
    assert make_tenant(api, "globex")["resellerId"] is None
    assert api.patch("/api/v1/tenants/globex/", json={"resellerId": "R1"}).json()["resellerId"] == "R1"
    assert api.patch("/api/v1/tenants/globex/", json={"resellerId": None}).json()["resellerId"] is None
    assert api.patch("/api/v1/tenants/globex/", json={"resellerId": "nope"}).status_code == 404
    listed = api.get("/api/v1/tenants/").json()["tenants"]
    assert {t["tenantId"]: t["resellerId"] for t in listed} == {"acme": "R1", "globex": None}


def test_a_reseller_admin_administers_its_resellers_tenants_only(api: TestClient, global_key: str) -> None:
    world = _world(api, global_key)
    ra = world.headers["reseller_admin"]
    # Its tenants: t1 and everything in it; t2 (R2's) and tenants of no reseller are not found.
    make_tenant(api, "orphan")
    assert [t["tenantId"] for t in api.get("/api/v1/tenants/", headers=ra).json()["tenants"]] == ["t1"]
    for path in ("/api/v1/tenants/t2/", "/api/v1/tenants/orphan/", "/api/v1/tenants/t2/groups/g1/"):
        assert api.get(path, headers=ra).status_code == 404, path
    made = api.post("/api/v1/tenants/", json={"tenantId": "shop", "type": "Enterprise"}, headers=ra)
    assert created(made)["resellerId"] == "R1"
    make_group(api, "shop", "g")
    assert api.post("/api/v1/tenants/shop/groups/", json={"groupId": "g2"}, headers=ra).status_code == 201
    # Accounts of its tenants, named in the tenant's namespace; never a reseller admin (403).
    body = {"username": "shop.boss", "password": PASSWORD, "role": "tenant_admin", "tenantId": "shop"}
    assert api.post("/api/v1/accounts/", json=body, headers=ra).status_code == 201
    for username in ("boss", "t2.boss"):  # outside the tenant's namespace: one 400 for both
        body = {"username": username, "password": PASSWORD, "role": "tenant_admin", "tenantId": "shop"}
        refused = api.post("/api/v1/accounts/", json=body, headers=ra)
        assert refused.status_code == 400, refused.text
        assert "names made by a reseller admin take the form <tenantId>.<name>" in refused.text
    body = {"username": "r1.peer", "password": PASSWORD, "role": "reseller_admin", "resellerId": "R1"}
    assert api.post("/api/v1/accounts/", json=body, headers=ra).status_code == 403
    peer = {"username": "r1.peer", "password": PASSWORD}
    assert api.post(f"{LOCAL}/R1/admins/", json=peer, headers=ra).status_code == 403
    # Moving a tenant to another reseller is the system's: then it is out of ra1's sight at once.
    assert api.patch("/api/v1/tenants/shop/", json={"resellerId": "R2"}, headers=ra).status_code == 403
    assert api.patch("/api/v1/tenants/shop/", json={"resellerId": "R2"}).status_code == 200
    assert api.get("/api/v1/tenants/shop/", headers=ra).status_code == 404
    assert api.get("/api/v1/accounts/shop.boss/", headers=ra).status_code == 404
    # Campaigns, calls and audit stay with each tenant's own administrators.
    for path in ("/api/v1/calls/", "/api/v1/audit/", "/api/v1/tenants/t1/campaigns/"):
        assert api.get(path, headers=ra).status_code == 403, path
    # APIO's login: a reseller admin is a system-level reseller user (user_level 16).
    signed_in = api.post("/api/v1/login/", json={"username": "ra1", "password": PASSWORD})
    assert signed_in.json()["profile"]["user_level"] == 16


def test_deleting_a_reseller_that_owns_tenants_needs_delete_non_empty(
    api: TestClient, global_key: str
) -> None:
    """409 without deleteNonEmpty=1; with it, its tenants stay (owned by no reseller) and its
    admins, which are nothing without it, are deleted with their sign-ins."""
    world = _world(api, global_key)
    assert api.delete(f"{LOCAL}/R1/").status_code == 409
    assert api.delete(f"{LOCAL}/R1/?deleteNonEmpty=0").status_code == 409
    assert api.delete(f"{LOCAL}/R1/?deleteNonEmpty=1").status_code == 204
    assert api.get(f"{LOCAL}/R1/").status_code == 404
    assert api.get("/api/v1/tenants/t1/").json()["resellerId"] is None
    assert api.get("/api/v1/accounts/ra1/").status_code == 404
    assert api.get("/api/v1/tenants/", headers=world.headers["reseller_admin"]).status_code == 401
    created(api.post(f"{LOCAL}/", json={"name": "empty"}))
    assert api.delete(f"{LOCAL}/empty/").status_code == 204


def test_explain_says_why_for_a_reseller_admin(api: TestClient, global_key: str, db: Database) -> None:
    _world(api, global_key)
    make_account(api, "t2.eu", "user", "t2", "g1")
    with db.transaction() as session:
        ra1 = principal_for(session, None, "ra1")
        seen = explain(session, ra1, "group:t1/g1", "read")
        assert seen.allowed
        assert "a reseller admin sees the groups of its reseller's tenants" in seen.rule
        hidden = explain(session, ra1, "tenant:t2", "read")
        assert not hidden.allowed
        assert "a reseller admin sees the tenants its reseller owns" in hidden.rule
        assert "404" in hidden.rule
        managed = explain(session, ra1, "group:t1/g1", "manage")
        assert managed.allowed
        assert "reseller admin manages its reseller's tenants" in managed.rule
        assert not explain(session, ra1, "account:t2.eu", "read").allowed
        own = explain(session, ra1, "reseller:R1", "read")
        assert own.allowed
        assert "a reseller admin sees its own reseller" in own.rule
        assert not explain(session, ra1, "reseller:R2", "read").allowed
        renamed = explain(session, ra1, "reseller:R1", "manage")
        assert not renamed.allowed
        assert "reseller needs system rights" in renamed.rule
    # What explain says is what the API answers.
    headers = {"Authorization": f"Bearer {login(api, 'ra1')}"}
    assert api.get("/api/v1/tenants/t1/groups/g1/", headers=headers).status_code == 200
    assert api.get("/api/v1/tenants/t2/", headers=headers).status_code == 404


def test_the_tenant_list_filters_by_reseller_as_apio_clients_send_it(
    api: TestClient, global_key: str
) -> None:
    # APIO's tenants page lists insensitiveResellerIdEquals among its filters; the count and
    # the page follow it, and a reseller admin still sees only its own reseller's tenants.
    world = _world(api, global_key)
    created(api.post(f"{LOCAL}/", json={"name": "Other"}))
    make_tenant(api, "acme", resellerId="Other")
    page = api.get("/api/v1/tenants/?insensitiveResellerIdEquals=r1").json()
    assert ([t["tenantId"] for t in page["tenants"]], page["total"]) == (["t1"], 1)
    other = api.get("/api/v1/tenants/", params={"sensitiveResellerIdStarts": "Oth"}).json()
    assert [t["tenantId"] for t in other["tenants"]] == ["acme"]
    assert api.get("/api/v1/tenants/?sensitiveResellerIdEquals=r1").json()["tenants"] == []
    mine = api.get(
        "/api/v1/tenants/?insensitiveResellerIdEquals=other", headers=world.headers["reseller_admin"]
    )
    assert (mine.status_code, mine.json()["tenants"], mine.json()["total"]) == (200, [], 0)
