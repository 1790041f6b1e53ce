"""Webhooks against a real local HTTP receiver: signatures, retries, 410, SSRF, scoping, secrets."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select, text
from starlette.testclient import TestClient

from switchboard.db.engine import Database
from switchboard.events.models import Webhook
from switchboard.events.signing import SecretBox
from switchboard.settings import Settings
from tests.support.access_world import build_world, make_account
from tests.support.clients import make_client
from tests.support.factories import created
from tests.support.webhook_receiver import CLOSED_HOOK, Receiver, hook_settings, readme_verify, wait_log

WH = "/api/v1/webhooks"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


@pytest.fixture
def hooks(settings: Settings, global_key: str) -> Iterator[TestClient]:
    with make_client(hook_settings(settings)) as client:
        client.headers["Authorization"] = f"Bearer {global_key}"
        yield client


def subscribe(api: TestClient, url: str, types: list[str], **extra: Any) -> dict[str, Any]:
    return created(api.post(f"{WH}/", json={"url": url, "eventTypes": types, **extra}))


def test_a_delivery_is_signed_and_verifies_with_the_readme_recipe(
    hooks: TestClient, global_key: str, receiver: Receiver, db: Database
) -> None:
    build_world(hooks, global_key)
    made = subscribe(hooks, receiver.url, ["account.*"], description="crm")
    secret = made["secret"]
    assert secret.startswith("sbw_")
    assert "secret" not in hooks.get(f"{WH}/{made['id']}/").json()  # shown once
    make_account(hooks, "newbie", "user", "t1", "g1")
    (delivery,) = receiver.wait_for(lambda seen: len(seen) >= 1)
    body = delivery.json
    assert body["type"] == "account.created"
    assert body["tenantId"] == "t1"
    assert body["data"] == {"username": "newbie", "role": "user", "enabled": True}
    assert delivery.headers["Switchboard-Event-Id"] == str(body["id"])
    assert delivery.headers["Switchboard-Event-Type"] == "account.created"
    assert delivery.headers["Switchboard-Attempt"] == "1"
    verify = readme_verify()
    assert verify(secret, delivery.headers["Switchboard-Signature"], delivery.body)
    # The recipe refuses what was not signed with this secret, a changed body, or an old stamp.
    assert not verify("sbw_" + "x" * 38, delivery.headers["Switchboard-Signature"], delivery.body)
    assert not verify(secret, delivery.headers["Switchboard-Signature"], delivery.body + b" ")
    stamp = int(delivery.headers["Switchboard-Signature"].split(",")[0][2:])
    old = delivery.headers["Switchboard-Signature"].replace(f"t={stamp}", f"t={stamp - 3600}")
    assert not verify(secret, old, delivery.body)
    # At rest the secret is sealed with a key outside the database: a dump alone cannot sign.
    with db.transaction() as session:
        row = session.scalar(select(Webhook).where(Webhook.pk == made["id"]))
        assert row is not None
        assert secret not in row.secret_encrypted
        dump = "\n".join(str(r) for r in session.execute(text("SELECT * FROM webhooks")))
    assert secret not in dump
    assert SecretBox.from_settings(hooks.app.state.services.settings).open(row.secret_encrypted) == secret
    with pytest.raises(ValueError, match="does not open"):
        SecretBox(b"A" * 43 + b"=").open(row.secret_encrypted)


def test_failures_are_retried_with_backoff_and_logged(
    hooks: TestClient, global_key: str, receiver: Receiver
) -> None:
    build_world(hooks, global_key)
    receiver.answers = [500, 503]
    made = subscribe(hooks, receiver.url, ["account.created"])
    make_account(hooks, "retry", "user", "t1", "g1")
    seen = receiver.wait_for(lambda seen: len(seen) >= 3)
    assert [r.headers["Switchboard-Attempt"] for r in seen] == ["1", "2", "3"]
    assert len({r.headers["Switchboard-Delivery"] for r in seen}) == 1
    assert len({r.body for r in seen}) == 1  # the same event each time
    # Backoff: 0.05 s then 0.1 s, jittered into [half, full]: never back-to-back.
    gaps = [b.at - a.at for a, b in itertools.pairwise(seen)]
    assert gaps[0] >= 0.02
    assert gaps[1] >= 0.045
    log = wait_log(hooks, made["id"], 3)
    assert [(e["attempt"], e["statusCode"]) for e in log["deliveryAttempts"]] == [
        (3, 200),
        (2, 503),
        (1, 500),
    ]
    assert log["deliveryAttempts"][0]["deliveryStatus"] == "delivered"
    assert log["deliveryAttempts"][2]["error"] == "HTTP 500"
    assert all(e["latencyMs"] >= 0 for e in log["deliveryAttempts"])
    # Past the last attempt it gives up: four 500s, then nothing more.
    receiver.default = 500
    make_account(hooks, "doomed", "user", "t1", "g1")
    receiver.wait_for(lambda seen: len(seen) >= 7)
    time.sleep(0.6)
    assert len(receiver.received) == 7
    log = wait_log(hooks, made["id"], 7)
    assert log["deliveryAttempts"][0]["deliveryStatus"] == "failed"


def test_410_disables_the_subscription(hooks: TestClient, global_key: str, receiver: Receiver) -> None:
    build_world(hooks, global_key)
    receiver.answers = [410]
    made = subscribe(hooks, receiver.url, ["account.*"])
    make_account(hooks, "gone1", "user", "t1", "g1")
    receiver.wait_for(lambda seen: len(seen) == 1)
    deadline = time.monotonic() + 5
    while hooks.get(f"{WH}/{made['id']}/").json()["active"] and time.monotonic() < deadline:
        time.sleep(0.05)
    state = hooks.get(f"{WH}/{made['id']}/").json()
    assert state["active"] is False
    assert "410" in state["disabledReason"]
    make_account(hooks, "gone2", "user", "t1", "g1")
    time.sleep(0.8)
    assert len(receiver.received) == 1  # nothing more, not even a retry
    assert hooks.post(f"{WH}/{made['id']}/test/").status_code == 400  # disabled: re-enable first
    # Re-enabled, it receives again (events from then on, and a test event on request).
    assert hooks.patch(f"{WH}/{made['id']}/", json={"active": True}).json()["disabledReason"] is None
    queued = hooks.post(f"{WH}/{made['id']}/test/")
    assert queued.status_code == 202
    (_, test) = receiver.wait_for(lambda seen: len(seen) == 2)
    assert test.json["type"] == "webhook.test"
    assert test.headers["Switchboard-Delivery"] == str(queued.json()["deliveryId"])
    assert readme_verify()


def test_internal_addresses_are_refused_unless_allowed(
    settings: Settings, global_key: str, receiver: Receiver
) -> None:
    """The same loopback receiver: refused without webhookAllowedNetworks, when subscribed and again
    at send time (a subscription made while the operator allowed it, after the allowance is gone)."""
    with make_client(hook_settings(settings)) as allowed:
        allowed.headers["Authorization"] = f"Bearer {global_key}"
        made = subscribe(allowed, receiver.url, ["webhook.test"])
    with make_client(hook_settings(settings, webhook_allowed_networks=[], webhook_max_attempts=1)) as api:
        api.headers["Authorization"] = f"Bearer {global_key}"
        for url in (
            receiver.url,
            "http://169.254.169.254/latest/meta-data/",
            "http://[::ffff:127.0.0.1]:80/x",
        ):
            refused = api.post(f"{WH}/", json={"url": url, "eventTypes": ["*"]})
            assert refused.status_code == 400, url
            assert "may not be called" in refused.json()["errors"][0]["reason"]
        assert api.post(f"{WH}/{made['id']}/test/").status_code == 202
        log = wait_log(api, made["id"], 1)
        (attempt,) = log["deliveryAttempts"]
        assert attempt["statusCode"] is None
        assert "refused" in attempt["error"]
        assert "loopback" in attempt["error"]
    assert receiver.received == []


def test_urls_are_checked_and_https_is_required_outside_development(
    settings: Settings, global_key: str
) -> None:
    # Not in development mode; localhost (127.0.0.1 and ::1) allowed, as an operator may.
    loopback = settings.model_copy(update={"webhook_allowed_networks": ["127.0.0.1/32", "::1/128"]})
    with make_client(loopback) as api:
        api.headers["Authorization"] = f"Bearer {global_key}"
        plain = api.post(f"{WH}/", json={"url": "http://localhost:9/x", "eventTypes": ["*"]})
        assert plain.status_code == 400
        assert plain.json()["errors"][0]["field"] == "url"
        for url in (
            "https://user:pw@hooks.example.com/",
            "https://hooks.example.com/\r\nX-Evil: 1",
            "ftp://x/",
        ):
            assert api.post(f"{WH}/", json={"url": url, "eventTypes": ["*"]}).status_code == 400, url
        bad_type = api.post(f"{WH}/", json={"url": "https://localhost:9/", "eventTypes": ["call.nope"]})
        assert bad_type.status_code == 400
        assert bad_type.json()["errors"][0]["field"] == "eventTypes.0"
        assert api.post(f"{WH}/", json={"url": "https://localhost:9/", "eventTypes": []}).status_code == 400
        ok = api.post(f"{WH}/", json={"url": "HTTPS://LocalHost:9/x", "eventTypes": ["call.*", "call.*"]})
        assert ok.status_code == 201
        assert (ok.json()["url"], ok.json()["eventTypes"]) == ("https://localhost:9/x", ["call.*"])


def test_a_tenant_admin_receives_its_tenant_events_only(
    hooks: TestClient, global_key: str, receiver: Receiver
) -> None:
    world = build_world(hooks, global_key)
    admin = world.headers["tenant_admin"]  # ta1, of t1
    mine = created(hooks.post(f"{WH}/", json={"url": receiver.url, "eventTypes": ["*"]}, headers=admin))
    assert mine["tenantId"] == "t1"  # a tenant admin's subscription is its tenant's
    other = hooks.post(
        f"{WH}/", json={"url": receiver.url, "eventTypes": ["*"], "tenantId": "t2"}, headers=admin
    )
    assert other.status_code == 404
    system_wide = subscribe(hooks, f"{CLOSED_HOOK}/all", ["*"])
    assert hooks.get(f"{WH}/{system_wide['id']}/", headers=admin).status_code == 404
    assert [h["id"] for h in hooks.get(f"{WH}/", headers=admin).json()["webhooks"]] == [mine["id"]]
    make_account(hooks, "in-t2", "user", "t2", "g1")
    make_account(hooks, "in-t1", "user", "t1", "g1")
    (only,) = receiver.wait_for(lambda seen: len(seen) >= 1)
    time.sleep(0.5)
    assert [r.json["data"]["username"] for r in receiver.received] == ["in-t1"]
    assert only.json["tenantId"] == "t1"


def test_lists_are_paged(hooks: TestClient, global_key: str) -> None:
    made = [subscribe(hooks, f"{CLOSED_HOOK}/{n}", ["webhook.test"])["id"] for n in range(3)]
    first = hooks.get(f"{WH}/", params={"limit": 2}).json()
    assert (len(first["webhooks"]), first["total"]) == (2, 3)
    rest = hooks.get(f"{WH}/", params={"limit": 2, "cursor": first["nextCursor"]}).json()
    assert [h["id"] for h in first["webhooks"] + rest["webhooks"]] == made
    assert rest["nextCursor"] is None
    assert hooks.get(f"{WH}/", params={"cursor": "x"}).status_code == 400
    assert hooks.get(f"{WH}/{made[0]}/deliveries/", params={"cursor": "-1"}).status_code == 400
    assert hooks.delete(f"{WH}/{made[0]}/").status_code == 204
    assert hooks.get(f"{WH}/{made[0]}/").status_code == 404
