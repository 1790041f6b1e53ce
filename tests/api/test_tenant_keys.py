"""Tenant keys: a tenant's own global key, shown once, acting as its tenant's admin (Noojee methods
included), inside its tenant only; expiry, allowlist, revocation and rotation with overlap."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from starlette.testclient import TestClient

from switchboard.access.accounts import CREDENTIALS
from switchboard.access.keys import KEY_PATTERN
from switchboard.access.models import TenantKey
from switchboard.db.engine import Database
from switchboard.events.models import Event
from switchboard.logs import RedactingFilter, redact
from switchboard.signals.feed import bump
from tests.support.access_world import build_world, eventually_status
from tests.support.calls import dial, noojee, wait_state
from tests.support.factories import created

KEYS = "/api/v1/tenants/t1/tenant-keys/"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_created_once_listed_without_the_key_and_paged(api: TestClient, global_key: str) -> None:
    build_world(api, global_key)  # holds one t1 key already ("noojee")
    response = api.post(KEYS, json={"name": "Noojee CRM", "ipAllowlist": ["192.0.2.0/24", "10.1.1.1"]})
    assert response.status_code == 201
    assert response.headers["cache-control"] == "no-store"
    made = response.json()
    assert made["key"].startswith("sbn_")
    assert made["prefix"] == made["key"][:10]
    assert made["ipAllowlist"] == ["192.0.2.0/24", "10.1.1.1/32"]
    assert (made["tenantId"], made["expiresAt"], made["revoked"]) == ("t1", None, False)
    assert made["createdBy"].startswith("global_key:sbg_")
    first = api.get(KEYS, params={"limit": 1}).json()
    assert first["total"] == 2
    assert first["nextCursor"]
    second = api.get(KEYS, params={"limit": 1, "cursor": first["nextCursor"]}).json()
    assert second["nextCursor"] is None
    listed = first["tenantKeys"] + second["tenantKeys"]
    assert [k["name"] for k in listed] == ["noojee", "Noojee CRM"]
    assert made["key"] not in str(listed)
    assert all("key" not in k and "digest" not in k for k in listed)
    one = api.get(f"{KEYS}{made['keyId']}/").json()
    assert one == {k: v for k, v in made.items() if k != "key"}
    assert api.get(KEYS, params={"cursor": "nonsense"}).status_code == 400
    assert api.post(KEYS, json={"name": ""}).status_code == 400
    assert api.post(KEYS, json={"name": "x", "ipAllowlist": ["not an address"]}).status_code == 400
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    assert api.post(KEYS, json={"name": "x", "expiresAt": past}).status_code == 400
    assert api.post("/api/v1/tenants/nope/tenant-keys/", json={"name": "x"}).status_code == 404


def test_acts_as_its_tenants_admin_and_sees_nothing_else(api: TestClient, global_key: str) -> None:
    world = build_world(api, global_key)
    key = world.headers["tenant_key"]
    assert api.get("/api/v1/tenants/", headers=key).json()["tenants"][0]["tenantId"] == "t1"
    assert api.get("/api/v1/tenants/t1/groups/g2/", headers=key).status_code == 200
    names = {a["username"] for a in api.get("/api/v1/accounts/", headers=key).json()["accounts"]}
    assert names == {"ta1", "ga1", "eu1"}
    # Another tenant's objects answer exactly as missing ones.
    missing = api.get("/api/v1/tenants/no-such-tenant/", headers=key)
    for path in ("/api/v1/tenants/t2/", "/api/v1/accounts/ta2/", "/api/v1/tenants/t2/tenant-keys/"):
        other = api.get(path, headers=key)
        assert (other.status_code, other.content) == (404, missing.content), path
    assert api.get("/api/v1/settings/", headers=key).status_code == 403  # system rights only
    # A tenant admin's writes: an account and another key of its tenant, audited under its prefix.
    body = {"username": "t1.new", "password": "long enough password", "role": "user", "tenantId": "t1"}
    assert api.post("/api/v1/accounts/", json=body, headers=key).status_code == 201
    assert api.post(KEYS, json={"name": "second"}, headers=key).status_code == 201
    prefix = key["Authorization"].removeprefix("Bearer ")[:10]
    actors = {entry["principal"] for entry in api.get("/api/v1/audit/").json()["auditEntries"]}
    assert f"tenant_key:{prefix}" in actors
    assert not any(key["Authorization"][7:] in actor for actor in actors)


def test_patch_expiry_allowlist_and_revocation_apply_at_once(
    api: TestClient, global_key: str, db: Database
) -> None:
    build_world(api, global_key)
    made = created(api.post(KEYS, json={"name": "crm"}))
    url, key = f"{KEYS}{made['keyId']}/", bearer(made["key"])
    assert api.get("/api/v1/tenants/t1/", headers=key).status_code == 200
    later = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    changed = api.patch(url, json={"name": "renamed", "ipAllowlist": ["192.0.2.1"], "expiresAt": later})
    assert changed.status_code == 200
    assert (changed.json()["name"], changed.json()["ipAllowlist"]) == ("renamed", ["192.0.2.1/32"])
    refused = api.get("/api/v1/tenants/t1/", headers=key)  # 127.0.0.1 is not 192.0.2.1
    assert refused.status_code == 403
    assert "allowlist" in refused.json()["detail"]
    cleared = api.patch(url, json={"ipAllowlist": [], "expiresAt": None}).json()
    assert (cleared["ipAllowlist"], cleared["expiresAt"]) == ([], None)
    assert api.get("/api/v1/tenants/t1/", headers=key).status_code == 200
    # Expired (as the clock would make it), in force at once.
    with db.transaction() as session:
        past = datetime.now(UTC) - timedelta(seconds=1)
        session.execute(update(TenantKey).where(TenantKey.pk == made["keyId"]).values(expires_at=past))
        bump(session, CREDENTIALS)
    # Written by another process (this test's engine): every worker hears it within a moment.
    eventually_status(api, "/api/v1/tenants/t1/", made["key"], 401)
    assert api.patch(url, json={"expiresAt": None}).status_code == 200
    assert api.get("/api/v1/tenants/t1/", headers=key).status_code == 200
    assert api.delete(url).status_code == 204
    assert api.get("/api/v1/tenants/t1/", headers=key).status_code == 401
    assert api.delete(url).status_code == 204  # already revoked: no change
    assert api.get(url).json()["revoked"] is True
    assert api.patch(url, json={"name": "again"}).status_code == 409
    assert api.post(f"{url}rotate/", json={"graceSeconds": 0}).status_code == 409
    assert api.delete(f"{KEYS}999999/").status_code == 404
    with db.transaction() as session:
        kinds = list(session.scalars(select(Event.kind).where(Event.kind.like("tenant_key.%"))))
    assert {"tenant_key.created", "tenant_key.updated", "tenant_key.revoked"} <= set(kinds)


def test_rotation_overlaps_for_the_grace_then_the_old_key_stops(api: TestClient, global_key: str) -> None:
    build_world(api, global_key)
    made = created(api.post(KEYS, json={"name": "crm", "ipAllowlist": ["127.0.0.0/8"]}))
    old = bearer(made["key"])
    rotated = api.post(f"{KEYS}{made['keyId']}/rotate/", json={"graceSeconds": 600})
    assert rotated.status_code == 201
    assert rotated.headers["cache-control"] == "no-store"
    new = rotated.json()
    assert new["key"] != made["key"]
    assert (new["name"], new["ipAllowlist"]) == ("crm", ["127.0.0.0/8"])
    # Both work during the overlap; the old one now ends with it.
    for key in (old, bearer(new["key"])):
        assert api.get("/api/v1/tenants/t1/", headers=key).status_code == 200
    ends = datetime.fromisoformat(api.get(f"{KEYS}{made['keyId']}/").json()["expiresAt"])
    assert timedelta(seconds=590) < ends - datetime.now(UTC) <= timedelta(seconds=600)
    # The new key rotates itself with no grace: it stops at once, its successor works.
    again = api.post(
        f"{KEYS}{new['keyId']}/rotate/", json={"graceSeconds": 0}, headers=bearer(new["key"])
    ).json()
    assert api.get("/api/v1/tenants/t1/", headers=bearer(new["key"])).status_code == 401
    assert api.get("/api/v1/tenants/t1/", headers=bearer(again["key"])).status_code == 200
    for grace in (-1, 7 * 24 * 3600 + 1, "soon"):
        answer = api.post(f"{KEYS}{again['keyId']}/rotate/", json={"graceSeconds": grace})
        assert answer.status_code == 400, grace
    default = api.post(f"{KEYS}{again['keyId']}/rotate/")  # no body: an hour's overlap
    assert default.status_code == 201
    ends = datetime.fromisoformat(api.get(f"{KEYS}{again['keyId']}/").json()["expiresAt"])
    assert timedelta(minutes=59) < ends - datetime.now(UTC) <= timedelta(hours=1)


def _call_tenant(api: TestClient, unique_id: str) -> str:
    tenant: str = api.get(f"/api/v1/calls/{unique_id}/").json()["tenantId"]
    return tenant


def test_noojee_bare_extensions_resolve_in_the_keys_tenant(api: TestClient, global_key: str) -> None:
    world = build_world(api, global_key)  # extension 101 is in t1 (u1) and in t2 (u4)
    key = world.headers["tenant_key"]
    # The global key cannot guess: its answer names the fix.
    ambiguous = noojee(api, "dial", extenOrUniqueId="101", number="0390001234")
    assert ambiguous.status_code == 400
    message = ambiguous.json()["Message"]
    assert "exists in 2 tenants" in message
    assert "tenant key" in message
    assert "tenantId" in message
    # The tenant key dials, subscribes and hangs up on its own tenant's 101, with the query apiKey too.
    unique_id = dial(api, key, extenOrUniqueId="101", number="0390001234")
    assert _call_tenant(api, unique_id) == "t1"
    sent_as_noojee = {"Authorization": ""}
    apikey = key["Authorization"].removeprefix("Bearer ")
    live = noojee(
        api, "subscribe", sent_as_noojee, exten="101", lastSequenceNumber=0, timeOut=0, apiKey=apikey
    )
    assert live.status_code == 200, live.text
    assert [entry["CallData"]["uniqueCallId"] for entry in live.json()["Data"]["101"]] == [unique_id]
    # t2's call on its own 101 is another tenant's: not found, as a missing call.
    other = dial(api, extenOrUniqueId="101", number="0390001234", tenantId="t2")
    missing = noojee(api, "hangup", key, extenOrUniqueId="1700000000.999999")
    hidden = noojee(api, "hangup", key, extenOrUniqueId=other)
    assert (hidden.status_code, hidden.content) == (404, missing.content)
    assert noojee(api, "dial", key, extenOrUniqueId="101", number="1", tenantId="t2").status_code == 404
    hung = noojee(api, "hangup", key, extenOrUniqueId="101")
    assert hung.status_code == 200, hung.text
    wait_state(api, unique_id, "Hungup")
    assert api.get(f"/api/v1/calls/{other}/").json()["state"] == "Connected"


def test_a_tenant_key_is_never_logged(
    api: TestClient, global_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    world = build_world(api, global_key)
    key = world.headers["tenant_key"]["Authorization"].removeprefix("Bearer ")
    assert KEY_PATTERN.fullmatch(key)  # what redaction and the secrets scan look for
    assert key not in redact(f"Authorization Bearer {key} in a message")
    with caplog.at_level(logging.INFO, logger="switchboard"):
        noojee(api, "subscribe", {"Authorization": ""}, exten="102", timeOut=0, apiKey=key)
        api.post(
            f"/servicemanager/rest/CampaignAPI/getCampaignList?apiKey={key}", headers={"Authorization": ""}
        )
        api.get("/api/v1/tenants/", headers={"Authorization": f"Bearer {key}"})
    assert caplog.records  # the requests were logged ...
    scrub = RedactingFilter()
    for record in caplog.records:  # ... and what the log handlers write holds no key
        scrub.filter(record)
        assert key not in record.getMessage()
