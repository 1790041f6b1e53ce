"""Non-public webhook targets: refused when subscribed (or changed) with the reason, looked up again at every
send, and never reached through a redirect."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from switchboard.settings import Settings
from tests.support.access_world import build_world
from tests.support.clients import make_client
from tests.support.resolver import FakeResolver, fake_resolver
from tests.support.webhook_receiver import Receiver, wait_log

WH = "/api/v1/webhooks/"
PUBLIC = "93.184.216.34"  # what the fake resolver answers for a "public" name; never connected to


def strict(settings: Settings, **changes: Any) -> Settings:
    """No allowed networks (the default), plain HTTP allowed so http:// targets reach the address check,
    one attempt per delivery."""
    values = {"webhook_allowed_networks": [], "insecure_http": True, "webhook_max_attempts": 1, **changes}
    return settings.model_copy(update=values)


@pytest.fixture
def api(settings: Settings, global_key: str) -> Iterator[TestClient]:
    with make_client(strict(settings)) as client:
        client.headers["Authorization"] = f"Bearer {global_key}"
        yield client


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> FakeResolver:
    return fake_resolver(monkeypatch)


# (url, what the refusal says): every form of a non-public address, and names.
NON_PUBLIC = [
    ("http://169.254.169.254/latest/meta-data/", "cloud metadata address"),
    ("http://169.254.1.1/", "link-local address"),
    ("http://10.0.0.1/", "private address"),
    ("http://172.16.0.1/", "private address"),
    ("http://172.31.255.254:8080/", "private address"),
    ("http://192.168.1.1/", "private address"),
    ("http://100.64.0.1/", "carrier-grade NAT address"),
    ("http://127.0.0.1/", "loopback address"),
    ("https://127.0.0.1:8443/x", "loopback address"),
    ("http://0.0.0.0/", "unspecified address"),
    ("http://224.0.0.1/", "multicast address"),
    ("http://255.255.255.255/", "broadcast address"),
    ("http://192.0.2.1/", "documentation address"),
    ("http://[::1]/", "loopback address"),
    ("http://[::]/", "unspecified address"),
    ("http://[fd00::1]/", "private address"),
    ("https://[fd12:3456::1]:443/", "private address"),
    ("http://[fe80::1]/", "link-local address"),
    ("http://[ff02::1]/", "multicast address"),
    ("http://[::ffff:10.0.0.1]/", "private address (IPv4-mapped)"),
    ("http://[::ffff:169.254.169.254]/", "cloud metadata address (IPv4-mapped)"),
    ("http://[::ffff:127.0.0.1]/", "loopback address (IPv4-mapped)"),
    ("http://[64:ff9b::a00:1]/", "private address (NAT64)"),
    ("http://[2002:a00:1::1]/", "private address (6to4)"),
    ("http://2130706433/", "numeric name but not a dotted-quad"),  # 127.0.0.1 in decimal
    ("http://0x7f.1/", "numeric name but not a dotted-quad"),  # 127.0.0.1 in hex, short form
    ("http://0x7f.0.0.1/", "numeric name but not a dotted-quad"),
    ("http://0177.0.0.1/", "numeric name but not a dotted-quad"),  # octal
    ("http://127.1/", "numeric name but not a dotted-quad"),
    ("http://localhost/", "localhost resolves to an address that may not be called (loopback address)"),
    ("https://no-such-host.invalid/", "no-such-host.invalid does not resolve"),
]


def test_a_non_public_target_is_refused_when_subscribed(api: TestClient) -> None:
    wrong: dict[str, tuple[int, str]] = {}
    for url, reason in NON_PUBLIC:
        refused = api.post(WH, json={"url": url, "eventTypes": ["*"]})
        errors = refused.json().get("errors") or [{}]
        if (refused.status_code, errors[0].get("field")) != (400, "url") or reason not in errors[0]["reason"]:
            wrong[url] = (refused.status_code, refused.text)
    assert wrong == {}
    assert api.get(WH).json()["webhooks"] == []


def test_a_name_resolving_to_any_non_public_address_is_refused(
    api: TestClient, resolver: FakeResolver
) -> None:
    resolver.set("split.example.test", [PUBLIC, "10.1.2.3"])
    resolver.set("metadata.example.test", ["169.254.169.254"])
    resolver.set("ula.example.test", ["fd00::53"])
    for name, reason in (
        ("split.example.test", "private address"),
        ("metadata.example.test", "cloud metadata address"),
        ("ula.example.test", "private address"),
    ):
        refused = api.post(WH, json={"url": f"https://{name}/hook", "eventTypes": ["*"]})
        assert refused.status_code == 400
        assert (
            f"{name} resolves to an address that may not be called ({reason})"
            in (refused.json()["errors"][0]["reason"])
        )
    assert api.get(WH).json()["total"] == 0


def test_changing_the_url_to_a_non_public_target_is_refused(api: TestClient, resolver: FakeResolver) -> None:
    resolver.set("hooks.example.test", [PUBLIC])
    made = api.post(WH, json={"url": "https://hooks.example.test/in", "eventTypes": ["webhook.test"]})
    assert made.status_code == 201, made.text
    hook = made.json()["id"]
    for url in ("http://169.254.169.254/", "http://[fd00::1]/", "http://localhost/"):
        changed = api.patch(f"{WH}{hook}/", json={"url": url})
        assert changed.status_code == 400, url
        assert changed.json()["errors"][0]["field"] == "url"
    assert api.get(f"{WH}{hook}/").json()["url"] == "https://hooks.example.test/in"


def test_a_name_is_looked_up_again_at_send_and_refused_if_it_now_points_inside(
    api: TestClient, resolver: FakeResolver
) -> None:
    # Public when subscribed; the name is then re-pointed at a private address (DNS rebinding).
    resolver.set("rebind.example.test", [PUBLIC], ["10.0.0.7"])
    made = api.post(WH, json={"url": "http://rebind.example.test/hook", "eventTypes": ["webhook.test"]})
    assert made.status_code == 201, made.text
    assert api.post(f"{WH}{made.json()['id']}/test/").status_code == 202
    (attempt,) = wait_log(api, made.json()["id"], 1)["deliveryAttempts"]
    assert attempt["statusCode"] is None
    assert attempt["error"] == (
        "refused: rebind.example.test resolves to an address that may not be called (private address)"
    )
    assert resolver.lookups.count("rebind.example.test") == 2  # at subscription and at the send


def test_a_redirect_to_an_internal_address_is_not_followed(settings: Settings, global_key: str) -> None:
    inside = Receiver(host="127.0.0.2")  # a loopback address the operator did not allow
    allowed = Receiver(default=307)
    allowed.location = inside.url
    try:
        only_the_receiver = strict(settings, webhook_allowed_networks=["127.0.0.1/32"])
        with make_client(only_the_receiver) as client:
            client.headers["Authorization"] = f"Bearer {global_key}"
            assert client.post(WH, json={"url": inside.url, "eventTypes": ["*"]}).status_code == 400
            made = client.post(WH, json={"url": allowed.url, "eventTypes": ["webhook.test"]})
            assert made.status_code == 201, made.text
            assert client.post(f"{WH}{made.json()['id']}/test/").status_code == 202
            (attempt,) = wait_log(client, made.json()["id"], 1)["deliveryAttempts"]
        assert (attempt["statusCode"], attempt["error"]) == (307, "redirect not followed")
        assert len(allowed.received) == 1
        assert inside.received == []
    finally:
        allowed.close()
        inside.close()


def test_an_operator_allowance_is_explicit_and_covers_only_its_networks(
    settings: Settings, global_key: str
) -> None:
    receiver = Receiver()
    try:
        with make_client(strict(settings, webhook_allowed_networks=["127.0.0.1/32"])) as client:
            client.headers["Authorization"] = f"Bearer {global_key}"
            assert client.post(WH, json={"url": receiver.url, "eventTypes": ["*"]}).status_code == 201
            # Loopback, but outside the allowance.
            refused = client.post(WH, json={"url": "http://127.0.0.2/", "eventTypes": ["*"]})
            assert refused.status_code == 400
            assert "loopback address" in refused.json()["errors"][0]["reason"]
            assert client.post(WH, json={"url": "http://10.0.0.1/", "eventTypes": ["*"]}).status_code == 400
    finally:
        receiver.close()


def test_a_webhook_outside_the_callers_view_is_404_before_its_new_url_is_looked_up(
    api: TestClient, global_key: str, resolver: FakeResolver
) -> None:
    # Regression: the new URL was vetted (its name resolved, a 400 for a bad one) before the
    # webhook was looked up, so a tenant admin had names resolved for a webhook it cannot see.
    world = build_world(api, global_key)
    resolver.set("hooks.example.test", [PUBLIC])
    made = api.post(WH, json={"url": "https://hooks.example.test/in", "eventTypes": ["webhook.test"]})
    assert made.status_code == 201, made.text  # the system's: no tenant admin sees it
    missing = api.patch(
        f"{WH}999999/", json={"url": "http://probe.example.test/"}, headers=world.headers["tenant_admin"]
    )
    assert missing.status_code == 404, missing.text
    for url in ("http://probe.example.test/", "http://localhost/", "https://hooks.example.test/in"):
        hidden = api.patch(
            f"{WH}{made.json()['id']}/", json={"url": url}, headers=world.headers["tenant_admin"]
        )
        assert (hidden.status_code, hidden.content) == (missing.status_code, missing.content), url
    assert "probe.example.test" not in resolver.lookups
