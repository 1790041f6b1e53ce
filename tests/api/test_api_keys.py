"""User API keys (seed 000): shown once, campaign endpoints only, revocable, expiring, IP-bound."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from starlette.testclient import TestClient

from switchboard.db.engine import Database
from switchboard.events.models import Event
from switchboard.settings import Settings
from tests.support.access_world import build_world, login, make_account
from tests.support.clients import make_client
from tests.support.factories import created, make_tree

KEYS = "/api/v1/accounts/ta1/api-keys/"


def test_key_is_shown_once_and_listed_without_the_secret(api: TestClient, global_key: str) -> None:
    build_world(api, global_key)
    response = api.post(KEYS, json={"name": "CRM", "ipAllowlist": ["192.0.2.0/24", "10.1.1.1"]})
    assert response.status_code == 201
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["key"].startswith("sbu_")
    assert body["prefix"] == body["key"][:10]
    assert body["ipAllowlist"] == ["192.0.2.0/24", "10.1.1.1/32"]
    listed = api.get(KEYS).json()["apiKeys"]
    assert body["key"] not in str(listed)
    assert {k["name"] for k in listed} == {"crm", "CRM"}
    assert all("key" not in k for k in listed)


def test_user_key_reaches_campaign_endpoints_only(api: TestClient, global_key: str) -> None:
    w = build_world(api, global_key)
    key = w.headers["user_key"]
    for path in (
        "/api/v1/tenants/",
        "/api/v1/tenants/t1/",
        "/api/v1/accounts/",
        "/api/v1/accounts/ta1/api-keys/",
        "/api/v1/settings/",
        "/api/v1/audit/",
    ):
        response = api.get(path, headers=key)
        assert response.status_code == 403, path
        assert "campaign" in response.json()["detail"]
    # Its account (a tenant admin) could: the key never carries more than seed 000 allows.
    assert api.get("/api/v1/tenants/t1/", headers=w.headers["tenant_admin"]).status_code == 200


def test_revocation_applies_at_once(api: TestClient, global_key: str) -> None:
    w = build_world(api, global_key)
    key_id = api.get(KEYS).json()["apiKeys"][0]["id"]
    assert api.get("/api/v1/tenants/", headers=w.headers["user_key"]).status_code == 403  # authenticated
    assert api.delete(f"{KEYS}{key_id}/").status_code == 204
    assert api.get("/api/v1/tenants/", headers=w.headers["user_key"]).status_code == 401
    listed = api.get(KEYS).json()["apiKeys"]
    assert listed[0]["revoked"] is True
    assert listed[0]["revokedAt"] is not None
    assert api.delete(f"{KEYS}999999/").status_code == 404


def test_scopes_narrow_a_key_and_edits_apply_at_once(api: TestClient, global_key: str) -> None:
    build_world(api, global_key)
    made = created(api.post(KEYS, json={"name": "calls only", "scopes": ["calls"]}))
    assert made["scopes"] == ["calls"]
    key = {"Authorization": f"Bearer {made['key']}"}
    assert api.get("/api/v1/calls/", headers=key).status_code == 200
    refused = api.get("/api/v1/tenants/t1/campaigns/", headers=key)
    assert refused.status_code == 403
    assert refused.json()["detail"] == "This API key's scopes do not include campaigns."
    noojee = api.post(
        "/servicemanager/rest/CampaignAPI/getCampaignList",
        params={"apiKey": made["key"]},
        headers={"Authorization": ""},
    )
    assert noojee.json()["Code"] < 0  # the same rule on the Noojee routes
    # Widen it, narrow it, bind it to an address, give it an expiry and take it away again.
    url = f"{KEYS}{made['id']}/"
    widened = api.patch(url, json={"scopes": ["recordings", "campaigns", "calls"]})
    assert widened.status_code == 200
    assert widened.json()["scopes"] == ["campaigns", "calls", "recordings"]
    assert api.get("/api/v1/tenants/t1/campaigns/", headers=key).status_code == 200
    later = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    changed = api.patch(
        url, json={"name": "renamed", "ipAllowlist": ["192.0.2.1"], "expiresAt": later}
    ).json()
    assert (changed["name"], changed["ipAllowlist"]) == ("renamed", ["192.0.2.1/32"])
    assert changed["expiresAt"] is not None
    assert changed["scopes"] == ["campaigns", "calls", "recordings"]  # untouched when not sent
    assert api.get("/api/v1/calls/", headers=key).status_code == 403  # 127.0.0.1 is not 192.0.2.1
    cleared = api.patch(url, json={"expiresAt": None, "ipAllowlist": []}).json()
    assert (cleared["expiresAt"], cleared["ipAllowlist"]) == (None, [])
    assert api.get("/api/v1/calls/", headers=key).status_code == 200
    # Bad input, and a revoked key, are refused; scopes never reach beyond what a user key may.
    assert api.patch(url, json={"scopes": []}).status_code == 400
    assert api.patch(url, json={"scopes": ["settings"]}).status_code == 400
    assert api.patch(url, json={"expiresAt": "2001-01-01T00:00:00Z"}).status_code == 400
    assert api.post(KEYS, json={"name": "x", "scopes": ["directory"]}).status_code == 400
    assert api.delete(url).status_code == 204
    assert api.patch(url, json={"name": "again"}).status_code == 409
    assert api.patch(f"{KEYS}999999/", json={"name": "missing"}).status_code == 404


def test_expired_key_is_refused(api: TestClient, global_key: str) -> None:
    build_world(api, global_key)
    soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    key = created(api.post(KEYS, json={"name": "short", "expiresAt": soon}))["key"]
    assert api.get("/api/v1/tenants/", headers={"Authorization": f"Bearer {key}"}).status_code == 403
    time.sleep(1.1)
    assert api.get("/api/v1/tenants/", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    assert api.post(KEYS, json={"name": "past", "expiresAt": past}).status_code == 400


def test_per_key_allowlist(settings: Settings, api: TestClient, global_key: str) -> None:
    build_world(api, global_key)
    key = created(api.post(KEYS, json={"name": "bound", "ipAllowlist": ["10.9.0.0/16"]}))["key"]
    assert (
        api.put("/api/v1/settings/ip-allowlist/", json={"entries": ["127.0.0.0/8", "10.0.0.0/8"]}).status_code
        == 200
    )
    time.sleep(0.2)
    with (
        make_client(settings, client=("10.9.1.1", 1)) as inside,
        make_client(settings, client=("10.8.1.1", 1)) as outside,
    ):
        assert (
            inside.get("/api/v1/tenants/", headers={"Authorization": f"Bearer {key}"}).status_code == 403
        )  # authenticated
        refused = outside.get("/api/v1/tenants/", headers={"Authorization": f"Bearer {key}"})
        assert refused.status_code == 403
        assert "allowlist" in refused.json()["detail"]
        # The system allowlist still applies to the global key from the same address.
        assert (
            outside.get("/api/v1/tenants/", headers={"Authorization": f"Bearer {global_key}"}).status_code
            == 200
        )
    bad = api.post(KEYS, json={"name": "bad", "ipAllowlist": ["not-a-network"]})
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "ipAllowlist.0"


def test_who_may_manage_whose_keys(api: TestClient, global_key: str) -> None:
    w = build_world(api, global_key)
    make_account(api, "ga2", "group_admin", "t1", "g2")
    assert (
        api.post(
            "/api/v1/accounts/eu1/api-keys/", json={"name": "own"}, headers=w.headers["user"]
        ).status_code
        == 201
    )
    # ga1 manages eu1's account, but eu1 sees the calls of extension 101 and ga1 does not: a key
    # of eu1 would reach further than its maker (403). An account reaching nothing more: 201.
    wider = api.post("/api/v1/accounts/eu1/api-keys/", json={"name": "ga"}, headers=w.headers["group_admin"])
    assert wider.status_code == 403
    assert "extension" in wider.json()["detail"]
    make_account(api, "eu-plain", "user", "t1", "g1")
    assert (
        api.post(
            "/api/v1/accounts/eu-plain/api-keys/", json={"name": "ga"}, headers=w.headers["group_admin"]
        ).status_code
        == 201
    )
    assert (
        api.post(
            "/api/v1/accounts/ta1/api-keys/", json={"name": "x"}, headers=w.headers["group_admin"]
        ).status_code
        == 404
    )
    ga2 = {"Authorization": f"Bearer {login(api, 'ga2')}"}
    assert api.post("/api/v1/accounts/eu1/api-keys/", json={"name": "x"}, headers=ga2).status_code == 404
    assert (
        api.post(
            "/api/v1/accounts/ga1/api-keys/", json={"name": "x"}, headers=w.headers["tenant_admin"]
        ).status_code
        == 201
    )


def test_last_used_is_recorded(api: TestClient, global_key: str) -> None:
    w = build_world(api, global_key)
    api.get("/api/v1/tenants/", headers=w.headers["user_key"])
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        if api.get(KEYS).json()["apiKeys"][0]["lastUsedAt"]:
            break
        time.sleep(0.1)
    assert api.get(KEYS).json()["apiKeys"][0]["lastUsedAt"] is not None


def test_system_ip_allowlist(settings: Settings, api: TestClient, global_key: str) -> None:
    make_tree(api)
    assert api.get("/api/v1/settings/ip-allowlist/").json() == {"entries": ["127.0.0.1/32", "::1/128"]}
    for entries, field in (([], "entries"), (["300.1.1.1"], "entries.0")):
        response = api.put("/api/v1/settings/ip-allowlist/", json={"entries": entries})
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == field
    with make_client(settings, client=("192.0.2.7", 1)) as remote:
        refused = remote.get("/api/v1/tenants/", headers={"Authorization": f"Bearer {global_key}"})
        assert refused.status_code == 403
        assert "allowlist" in refused.json()["detail"]
        assert (
            api.put(
                "/api/v1/settings/ip-allowlist/", json={"entries": ["127.0.0.1", "192.0.2.0/28"]}
            ).status_code
            == 200
        )
        # `remote` is another app instance, as another worker would be: it hears of the change
        # through the change feed (LISTEN/NOTIFY, or polling on SQLite) within a second.
        deadline, status = time.monotonic() + 1.0, 0
        while time.monotonic() < deadline and status != 200:
            status = remote.get(
                "/api/v1/tenants/", headers={"Authorization": f"Bearer {global_key}"}
            ).status_code
        assert status == 200


def test_requests_per_credential_are_limited(settings: Settings, global_key: str) -> None:
    strict = settings.model_copy(update={"requests_per_minute": 5})
    with make_client(strict) as client:
        codes = [
            client.get("/api/v1/tenants/", headers={"Authorization": f"Bearer {global_key}"}).status_code
            for _ in range(7)
        ]
    assert codes[:5] == [200] * 5
    assert codes[5:] == [429, 429]


def test_failed_authentications_per_address_are_limited(settings: Settings, global_key: str) -> None:
    from switchboard.access import keys

    strict = settings.model_copy(update={"auth_failures_per_minute": 4})
    forged = keys.generate_key(keys.KeyKind.USER)
    with make_client(strict) as client:
        codes = [
            client.get("/api/v1/tenants/", headers={"Authorization": f"Bearer {forged}"}).status_code
            for _ in range(6)
        ]
        assert codes == [401] * 4 + [429] * 2
        # A valid key from that address passes (limited by its own budget, not the address's).
        assert (
            client.get("/api/v1/tenants/", headers={"Authorization": f"Bearer {global_key}"}).status_code
            == 200
        )
        # No credential at all is not a failed authentication: it does not count.
        assert client.get("/healthz").status_code == 200


def test_key_and_account_changes_are_events_without_secrets(
    api: TestClient, global_key: str, db: Database
) -> None:
    build_world(api, global_key)
    made = created(api.post("/api/v1/accounts/eu1/api-keys/", json={"name": "crm"}))
    assert api.delete(f"/api/v1/accounts/eu1/api-keys/{made['id']}/").status_code == 204
    assert api.patch("/api/v1/accounts/eu1/", json={"enabled": False}).status_code == 200
    with db.transaction() as session:
        events = list(session.scalars(select(Event).order_by(Event.pk)))
    keys = [(e.kind, e.data["keyId"], e.data["username"]) for e in events if e.kind.startswith("api_key.")]
    assert keys[-2:] == [("api_key.created", made["id"], "eu1"), ("api_key.revoked", made["id"], "eu1")]
    assert [e.data for e in events if e.kind == "account.updated"][-1] == {
        "username": "eu1",
        "role": "user",
        "enabled": False,
    }
    assert {e.kind for e in events} >= {"account.created", "api_key.created", "api_key.revoked"}
    assert all(made["key"] not in str(e.data) for e in events)  # the key itself, never
    assert all("password" not in str(e.data).lower() for e in events)
