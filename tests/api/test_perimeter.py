"""HTTPS only, the trusted-proxy rule for X-Forwarded-*, and canonical trailing slashes."""

from __future__ import annotations

import logging

import pytest
from starlette.testclient import TestClient

from switchboard.app import create_app
from switchboard.settings import Settings
from switchboard.web.perimeter import client_from_forwarded


def _client(settings: Settings, peer: str, scheme: str = "https") -> TestClient:
    return TestClient(create_app(settings), base_url=f"{scheme}://testserver", client=(peer, 40000))


def test_plain_http_is_refused_without_redirect(settings: Settings, global_key: str) -> None:
    with _client(settings, "127.0.0.1", "http") as client:
        response = client.get("/api/v1/tenants/", headers={"X-API-Key": global_key}, follow_redirects=False)
    assert response.status_code == 403
    assert "location" not in response.headers
    assert response.headers["content-type"] == "application/problem+json"
    assert "HTTPS" in response.json()["detail"]


def test_plain_http_is_served_in_development_mode(settings: Settings, global_key: str) -> None:
    dev = settings.model_copy(update={"insecure_http": True})
    with _client(dev, "127.0.0.1", "http") as client:
        assert client.get("/api/v1/tenants/", headers={"X-API-Key": global_key}).status_code == 200


def test_forwarded_headers_from_an_untrusted_peer_are_refused(settings: Settings, global_key: str) -> None:
    # A proxy on the same host would otherwise make every client look like loopback.
    with _client(settings, "127.0.0.1") as client:
        for header in ({"X-Forwarded-For": "127.0.0.1"}, {"X-Forwarded-Proto": "https"}):
            response = client.get("/api/v1/tenants/", headers={"X-API-Key": global_key, **header})
            assert response.status_code == 403, header
            assert "trusted proxy" in response.json()["detail"]


def test_trusted_proxy_sets_client_and_scheme(
    settings: Settings, global_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="switchboard.access")
    with _client(settings, "127.0.0.1") as local:
        allow = local.put(
            "/api/v1/settings/ip-allowlist/",
            json={"entries": ["127.0.0.1", "203.0.113.0/24"]},
            headers={"X-API-Key": global_key},
        )
        assert allow.status_code == 200
    with _client(settings, "10.0.0.5", "http") as client:
        headers = {
            "X-API-Key": global_key,
            "X-Forwarded-Proto": "https",
            "X-Forwarded-For": "198.51.100.7, 203.0.113.9, 10.0.0.9",
        }
        assert client.get("/api/v1/tenants/", headers=headers).status_code == 200
        http_hop = client.get("/api/v1/tenants/", headers={**headers, "X-Forwarded-Proto": "http"})
        assert http_hop.status_code == 403
    lines = [r.getMessage() for r in caplog.records if r.name == "switchboard.access"]
    # The right-most address not ours is the client; the left-most was written by the client.
    assert lines[-2].startswith("203.0.113.9 ")


def test_forwarded_for_is_read_right_to_left() -> None:
    import ipaddress

    proxies = (ipaddress.ip_network("10.0.0.0/8"),)
    assert client_from_forwarded("1.1.1.1, 2.2.2.2", proxies) == "2.2.2.2"
    assert client_from_forwarded("1.1.1.1, 10.1.1.1, 10.2.2.2", proxies) == "1.1.1.1"
    assert client_from_forwarded("10.1.1.1", proxies) == "10.1.1.1"
    assert client_from_forwarded("garbage, 10.1.1.1", proxies) is None
    assert client_from_forwarded("[2001:db8::1]:443", proxies) == "2001:db8::1"


def test_malformed_forwarded_for_from_a_trusted_proxy_is_refused(settings: Settings, global_key: str) -> None:
    with _client(settings, "10.0.0.5") as client:
        response = client.get(
            "/api/v1/tenants/", headers={"X-API-Key": global_key, "X-Forwarded-For": "nonsense"}
        )
    assert response.status_code == 403


def test_paths_without_trailing_slash_are_served_not_redirected(api: TestClient) -> None:
    response = api.get("/api/v1/tenants", follow_redirects=False)
    assert response.status_code == 200
    created = api.post(
        "/api/v1/tenants", json={"tenantId": "t9", "type": "Enterprise"}, follow_redirects=False
    )
    assert created.status_code == 201
    assert api.get("/api/v1/openapi.json").status_code == 200


def test_an_address_is_judged_again_when_the_allowlist_changes(settings: Settings, global_key: str) -> None:
    # Each address's decision is remembered: a change of the list must forget them. One app (its
    # settings cache sees its own change at once), reached through a trusted proxy as two clients.
    entries = "/api/v1/settings/ip-allowlist/"
    local = {"X-API-Key": global_key, "X-Forwarded-For": "127.0.0.1"}
    outside = {"X-API-Key": global_key, "X-Forwarded-For": "203.0.113.7"}
    with _client(settings, "10.0.0.5") as client:
        assert client.get("/api/v1/tenants/", headers=outside).status_code == 403
        allowed = client.put(entries, json={"entries": ["127.0.0.1", "203.0.113.0/24"]}, headers=local)
        assert allowed.status_code == 200
        assert client.get("/api/v1/tenants/", headers=outside).status_code == 200
        assert client.put(entries, json={"entries": ["127.0.0.1"]}, headers=local).status_code == 200
        assert client.get("/api/v1/tenants/", headers=outside).status_code == 403
