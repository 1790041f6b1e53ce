"""Host-header redirects: none is ever built; each path has one canonical form, reached without one."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from switchboard.access import keys
from switchboard.app import create_app
from switchboard.settings import Settings

EVIL = {"Host": "evil.example"}
NOOJEE = "/servicemanager/rest/CampaignAPI"

# Paths whose other form (with or without the trailing slash) is the route's own.
OTHER_FORMS = [
    "/api/v1/accounts/a.b",
    "/api/v1/accounts/a.b/",
    "/api/v1/tenants",
    "/api/v1/tenants/",
    "/api/v1/docs",
    "/api/v1/docs/",
    "/api/v1/openapi.json",
    "/api/v1/openapi.json/",
    "/api/v1",  # the index (/api/v1/)
    "/healthz/",
    f"{NOOJEE}/getCampaignList/",
    "/console/sign-in/",
]


@pytest.mark.parametrize("path", OTHER_FORMS)
def test_no_redirect_is_built_from_the_host_header(anonymous: TestClient, global_key: str, path: str) -> None:
    for method in ("GET", "POST"):
        response = anonymous.request(
            method,
            path,
            params={"apiKey": global_key} if path.startswith(NOOJEE) else None,
            headers={**EVIL, "Authorization": f"Bearer {global_key}"},
            follow_redirects=False,
        )
        assert not 300 <= response.status_code < 400, (method, path, response.headers)
        assert "evil.example" not in response.headers.get("location", "")
        assert response.status_code < 500, response.text


def test_both_forms_of_a_path_answer_the_same(api: TestClient) -> None:
    created = api.post("/api/v1/tenants", json={"tenantId": "t1", "type": "Enterprise"})
    assert created.status_code == 201, created.text
    for path in ("/api/v1/tenants/t1", "/api/v1/tenants/t1/"):
        response = api.get(path, follow_redirects=False)
        assert response.status_code == 200, response.text
        assert response.json()["tenantId"] == "t1"
    docs = api.get("/api/v1/docs", follow_redirects=False)
    assert docs.status_code == 200
    assert "/api/v1/openapi.json" in docs.text
    assert api.get("/api/v1/openapi.json/", follow_redirects=False).json()["paths"]


def test_a_wrong_key_on_a_noojee_path_of_the_other_form_never_echoes_it(anonymous: TestClient) -> None:
    bogus = keys.generate_key(keys.KeyKind.USER)
    response = anonymous.get(f"{NOOJEE}/getCampaignList/", params={"apiKey": bogus}, follow_redirects=False)
    assert response.status_code == 401
    assert bogus not in response.text
    assert "location" not in response.headers


def test_https_responses_carry_strict_transport_security(anonymous: TestClient, api: TestClient) -> None:
    for response in (
        api.get("/api/v1/tenants/"),
        anonymous.get("/api/v1/tenants/"),  # refusals too
        anonymous.get("/healthz"),
        anonymous.get("/console/sign-in"),
        anonymous.get("/nowhere"),
    ):
        assert response.headers.get_list("strict-transport-security") == ["max-age=31536000"], response.url


def test_hsts_follows_the_scheme_the_client_used(settings: Settings, global_key: str) -> None:
    app = create_app(settings.model_copy(update={"insecure_http": True}))
    with TestClient(app, base_url="http://testserver", client=("10.0.0.5", 40000)) as proxied:
        key = {"X-API-Key": global_key}
        behind_tls = proxied.get("/api/v1/tenants/", headers={**key, "X-Forwarded-Proto": "https"})
        assert behind_tls.headers["strict-transport-security"] == "max-age=31536000"
        # Over plain HTTP a browser ignores it, and anyone on the path could have added it.
        assert "strict-transport-security" not in proxied.get("/api/v1/tenants/", headers=key).headers
