"""Credentials never reach further than whoever made them, and restrictions set above an owner
bind it: keys made for another account, password resets, relinks, and keys widened by their owner."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from starlette.testclient import TestClient

from tests.support.access_world import PASSWORD, add_campaign_team, build_world, login, make_account
from tests.support.factories import created

EU1 = "/api/v1/accounts/eu1/"


def test_a_group_admin_makes_no_credential_that_reads_what_it_cannot(
    api: TestClient, global_key: str
) -> None:
    world = build_world(api, global_key)
    add_campaign_team(api, world)
    ga = world.headers["group_admin"]
    leads = world.ids["leads"]
    assert api.get(leads, headers=ga).status_code == 404  # ga1 is in no team: not its campaign
    # A key for eu1 (team A, extension 101) would read the leads: refused, naming the reason.
    key = api.post(f"{EU1}api-keys/", json={"name": "x"}, headers=ga)
    assert key.status_code == 403, key.text
    assert "teams you are not in" in key.json()["detail"]
    # Taking the account over: a new password, a link to eu2's end user.
    reset = api.patch(EU1, json={"password": "a new long password"}, headers=ga)
    assert reset.status_code == 403, reset.text
    assert api.post("/api/v1/auth/login", json={"username": "eu1", "password": PASSWORD}).status_code == 200
    make_account(api, "plain", "user", "t1", "g1")
    relink = api.patch("/api/v1/accounts/plain/", json={"linkedUserId": "u2@t1.example"}, headers=ga)
    assert relink.status_code == 403, relink.text
    assert "extension" in relink.json()["detail"]
    assert api.get("/api/v1/accounts/plain/").json()["linkedUserId"] is None
    born_linked = {
        "username": "t1.spy",
        "password": PASSWORD,
        "role": "user",
        "tenantId": "t1",
        "groupId": "g1",
    }
    refused = api.post("/api/v1/accounts/", json={**born_linked, "linkedUserId": "u2@t1.example"}, headers=ga)
    assert refused.status_code == 403, refused.text
    assert api.get("/api/v1/accounts/t1.spy/").status_code == 404
    # What reaches nothing more than ga1 stays its to manage; what it may see it still reads.
    assert api.post("/api/v1/accounts/", json=born_linked, headers=ga).status_code == 201
    assert api.post("/api/v1/accounts/t1.spy/api-keys/", json={"name": "x"}, headers=ga).status_code == 201
    assert api.patch(EU1, json={"displayName": "Eve"}, headers=ga).status_code == 200
    assert api.get(f"{EU1}api-keys/", headers=ga).status_code == 200
    # An administrator reaches all of its tenant: it makes eu1's key, which reads the leads.
    made = created(api.post(f"{EU1}api-keys/", json={"name": "crm"}, headers=world.headers["tenant_admin"]))
    assert api.get(leads, headers={"Authorization": f"Bearer {made['key']}"}).status_code == 200


def test_a_group_admin_in_the_same_team_and_on_no_other_extension_may(
    api: TestClient, global_key: str
) -> None:
    world = build_world(api, global_key)
    add_campaign_team(api, world)
    created(api.post("/api/v1/tenants/t1/teams/A/members/", json={"username": "ga1"}), 200)
    make_account(api, "teamed", "user", "t1", "g1")
    created(api.post("/api/v1/tenants/t1/teams/A/members/", json={"username": "teamed"}), 200)
    ga = {"Authorization": f"Bearer {login(api, 'ga1')}"}
    assert api.post("/api/v1/accounts/teamed/api-keys/", json={"name": "x"}, headers=ga).status_code == 201
    # eu1 is in team A too, but its extension 101 is not ga1's.
    assert api.post(f"{EU1}api-keys/", json={"name": "x"}, headers=ga).status_code == 403


def _future(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def test_restrictions_set_above_the_owner_bind_the_owner(api: TestClient, global_key: str) -> None:
    world = build_world(api, global_key)
    owner, admin = world.headers["user"], world.headers["tenant_admin"]
    key = created(api.post(f"{EU1}api-keys/", json={"name": "crm"}, headers=owner))
    path = f"{EU1}api-keys/{key['id']}/"
    assert key["restrictedBy"] is None
    narrowed = {"scopes": ["campaigns"], "ipAllowlist": ["10.1.0.0/16"], "expiresAt": _future(7)}
    answer = api.patch(path, json=narrowed, headers=admin)
    assert answer.status_code == 200, answer.text
    assert answer.json()["restrictedBy"] == "tenant_admin"
    # The owner's own login token may not widen any of them back...
    for wider in (
        {"scopes": ["campaigns", "calls"]},
        {"ipAllowlist": []},
        {"ipAllowlist": ["10.0.0.0/8"]},
        {"ipAllowlist": ["10.1.0.0/16", "192.0.2.0/24"]},
        {"expiresAt": None},
        {"expiresAt": _future(30)},
    ):
        refused = api.patch(path, json=wider, headers=owner)
        assert refused.status_code == 403, (wider, refused.text)
        assert "narrowed, not widened" in refused.json()["detail"]
    stored = api.get(f"{EU1}api-keys/", headers=admin).json()["apiKeys"][0]
    assert (stored["scopes"], stored["ipAllowlist"]) == (["campaigns"], ["10.1.0.0/16"])
    # ...but may narrow them further, and rename the key.
    narrower = {"ipAllowlist": ["10.1.2.0/24"], "expiresAt": _future(3), "name": "crm-2"}
    assert api.patch(path, json=narrower, headers=owner).status_code == 200
    assert api.patch(path, json={"scopes": ["campaigns"]}, headers=owner).status_code == 200
    # Whoever set them (or ranks above) may widen them again.
    assert api.patch(path, json={"ipAllowlist": [], "expiresAt": None}, headers=admin).status_code == 200
    assert api.patch(path, json={"scopes": ["calls"]}, headers=world.headers["system"]).status_code == 200
    assert api.patch(path, json={"scopes": ["calls", "recordings"]}, headers=admin).status_code == 403


def test_a_key_made_for_another_account_binds_its_owner_from_the_start(
    api: TestClient, global_key: str
) -> None:
    world = build_world(api, global_key)
    made = {"name": "crm", "scopes": ["campaigns"]}
    key = created(api.post(f"{EU1}api-keys/", json=made, headers=world.headers["tenant_admin"]))
    assert key["restrictedBy"] == "tenant_admin"
    path = f"{EU1}api-keys/{key['id']}/"
    assert (
        api.patch(path, json={"scopes": ["campaigns", "calls"]}, headers=world.headers["user"]).status_code
        == 403
    )
    own = created(
        api.post(f"{EU1}api-keys/", json={"name": "mine", "scopes": ["calls"]}, headers=world.headers["user"])
    )
    widened = api.patch(
        f"{EU1}api-keys/{own['id']}/", json={"scopes": ["calls", "campaigns"]}, headers=world.headers["user"]
    )
    assert widened.status_code == 200, widened.text  # its own restrictions: the owner's to change


def test_an_admin_sending_a_key_s_restrictions_unchanged_does_not_bind_its_owner(
    api: TestClient, global_key: str
) -> None:
    # Regression: the console's key form sends scopes and allowlist with every edit, so an admin
    # who only renamed an owner's key became the binding role and the owner could no longer widen
    # what it had set itself.
    world = build_world(api, global_key)
    owner, admin = world.headers["user"], world.headers["tenant_admin"]
    mine = {"name": "crm", "scopes": ["calls"], "ipAllowlist": ["10.1.0.0/16"], "expiresAt": _future(7)}
    key = created(api.post(f"{EU1}api-keys/", json=mine, headers=owner))
    path = f"{EU1}api-keys/{key['id']}/"
    same = {
        "name": "crm (renamed)",
        "scopes": key["scopes"],
        "ipAllowlist": key["ipAllowlist"],
        "expiresAt": key["expiresAt"],
    }
    renamed = api.patch(path, json=same, headers=admin)
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["restrictedBy"] is None
    wider = {"scopes": ["calls", "campaigns"], "ipAllowlist": [], "expiresAt": None}
    assert api.patch(path, json=wider, headers=owner).status_code == 200
