"""Health, readiness, Prometheus metrics by route template, OpenAPI coverage, and 500s that leak nothing."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from starlette.testclient import TestClient

from switchboard.app import create_app
from switchboard.settings import Settings
from tests.support.clients import make_client
from tests.support.factories import make_tenant


def test_healthz_and_readyz(anonymous: TestClient) -> None:
    assert anonymous.get("/healthz").json()["status"] == "ok"
    ready = anonymous.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"] == "ok"


def test_readyz_is_503_when_the_database_is_unreachable(tmp_path: Path) -> None:
    down = Settings(data_dir=tmp_path, database_url="postgresql://postgres@127.0.0.1:1/none")
    with make_client(down) as client:
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"].startswith("unavailable")


def test_metrics_are_labelled_by_route_template_never_raw_path(api: TestClient) -> None:
    make_tenant(api, "secretcorp")
    api.get("/api/v1/tenants/secretcorp/")
    api.get("/api/v1/no/such/route/")
    text = api.get("/metrics").text
    assert 'route="/api/v1/tenants/{tenant_id}/"' in text
    assert "switchboard_http_request_duration_seconds_bucket" in text
    assert "secretcorp" not in text
    assert "/no/such/route" not in text


def test_every_route_is_in_openapi_with_its_error_statuses(api: TestClient) -> None:
    from switchboard.access.routes import auth_router
    from switchboard.access.routes import router as accounts
    from switchboard.audit.routes import router as audit
    from switchboard.bulk.routes import router as bulk_import
    from switchboard.directory.routes import router as directory
    from switchboard.directory.search_routes import router as search
    from switchboard.noojee.routes import router as noojee
    from switchboard.ops.routes import router as ops
    from switchboard.system.routes import router as system

    spec = api.get("/api/v1/openapi.json").json()
    routes = [
        r
        for router in (directory, ops, system, search, accounts, auth_router, audit, noojee, bulk_import)
        for r in router.routes
        if isinstance(r, APIRoute) and r.include_in_schema
    ]
    assert len(routes) > 30
    # Input errors are 400, never 422: a 422 is only an Idempotency-Key used for another request.
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if "422" in operation["responses"]:
                assert "idempotency" in operation["responses"]["422"]["description"].lower(), (
                    method,
                    path,
                )
    assert "HTTPValidationError" not in str(spec["paths"])
    for route in routes:
        for method in route.methods:
            operation = spec["paths"][route.path][method.lower()]
            if route.path.startswith("/api/v1/"):
                codes = set(operation["responses"])
                assert {"401", "403"} <= codes, (method, route.path, codes)
                if route.body_field is not None or "requestBody" in operation:
                    assert "400" in codes, (method, route.path)
                    assert "requestBody" in operation, (method, route.path)


def test_an_unexpected_error_is_a_bare_500_and_the_log_is_redacted(
    settings: Settings, global_key: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from switchboard.directory import service

    def explode(*_: object) -> None:
        raise RuntimeError(f"boom with {global_key}")

    monkeypatch.setattr(service, "create_tenant", explode)
    caplog.set_level(logging.INFO)
    app = create_app(settings)
    with TestClient(
        app, base_url="https://testserver", raise_server_exceptions=False, client=("127.0.0.1", 5000)
    ) as client:
        response = client.post(
            "/api/v1/tenants/",
            json={"tenantId": "x", "type": "Enterprise"},
            headers={"X-API-Key": global_key},
        )
    assert response.status_code == 500
    assert response.json() == {
        "type": "about:blank",
        "title": "Internal Server Error",
        "status": 500,
        "detail": "An internal error occurred.",
    }
    assert "boom" not in response.text
    assert "Traceback" not in response.text
    from switchboard.logs import RedactingFilter

    redactor = RedactingFilter()
    for record in caplog.records:
        redactor.filter(record)
        assert global_key not in record.getMessage()
        assert global_key not in (record.exc_text or "")
    assert any("boom with [REDACTED]" in (r.exc_text or "") for r in caplog.records)


def test_the_floor_is_reached_first_and_the_documentation_still_answers(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"bench_floor_route": True}))
    assert isinstance(app.router.routes[0], APIRoute)
    assert app.router.routes[0].path == "/bench/floor"
    with TestClient(app, base_url="https://testserver", client=("127.0.0.1", 5000)) as client:
        assert client.get("/bench/floor").json() == {"status": "ok", "version": 1}
        assert client.get("/api/v1/openapi.json").json()["info"]["title"] == "Switchboard"
        assert "swagger" in client.get("/api/v1/docs").text.lower()
        assert client.get("/docs/oauth2-redirect").status_code == 200
