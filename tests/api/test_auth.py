"""The global API key: where it is accepted, how it is checked, and how a change propagates."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

from starlette.testclient import TestClient

from switchboard.access import keys
from switchboard.db.engine import Database
from switchboard.settings import Settings
from switchboard.system.bootstrap import global_key_entry
from switchboard.system.store import GLOBAL_API_KEYS, write_setting
from tests.support.clients import make_client


def test_no_credential_is_401_with_challenge(anonymous: TestClient) -> None:
    response = anonymous.get("/api/v1/tenants/")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["content-type"] == "application/problem+json"


def test_bearer_and_x_api_key_are_accepted(anonymous: TestClient, global_key: str) -> None:
    assert (
        anonymous.get("/api/v1/tenants/", headers={"Authorization": f"Bearer {global_key}"}).status_code
        == 200
    )
    assert anonymous.get("/api/v1/tenants/", headers={"X-API-Key": global_key}).status_code == 200


def test_api_key_query_parameter_is_ignored_outside_noojee_routes(
    anonymous: TestClient, global_key: str
) -> None:
    assert anonymous.get("/api/v1/tenants/", params={"apiKey": global_key}).status_code == 401


def test_wrong_malformed_and_forged_keys_are_401(anonymous: TestClient, global_key: str) -> None:
    other = keys.generate_key(keys.KeyKind.GLOBAL)  # well formed, valid checksum, never issued
    typo = global_key[:-1] + ("A" if global_key[-1] != "A" else "B")
    for key in (other, typo, "sbg_short", global_key.lower(), "Bearer", ""):
        response = anonymous.get("/api/v1/tenants/", headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 401, key


def test_key_format_has_prefix_entropy_and_checksum() -> None:
    key = keys.generate_key(keys.KeyKind.GLOBAL)
    assert key.startswith("sbg_")
    assert len(key) == 42
    assert keys.is_well_formed(key)
    assert keys.KEY_PATTERN.fullmatch(key)
    flipped = key[:10] + ("x" if key[10] != "x" else "y") + key[11:]
    assert not keys.is_well_formed(flipped)
    assert keys.generate_key(keys.KeyKind.GLOBAL) != key
    assert keys.digest(key) != key
    assert len(keys.digest(key)) == 64


def test_only_the_digest_is_stored(db: Database, global_key: str) -> None:
    from sqlalchemy import text

    with db.engine.connect() as conn:
        dump = " ".join(str(row) for row in conn.execute(text("SELECT name, value FROM system_settings")))
    assert global_key not in dump
    assert keys.digest(global_key) in dump


def test_expired_key_is_refused(settings: Settings, db: Database, global_key: str) -> None:
    entry = global_key_entry(global_key)
    entry["expiresAt"] = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    with db.transaction() as session:
        write_setting(session, GLOBAL_API_KEYS, [entry])
    with make_client(settings) as client:
        assert client.get("/api/v1/tenants/", headers={"X-API-Key": global_key}).status_code == 401


def test_a_key_change_by_another_process_applies_within_the_cache_window(
    settings: Settings, db: Database, global_key: str
) -> None:
    settings = settings.model_copy(update={"settings_cache_seconds": 0.3})
    with make_client(settings) as client:
        headers = {"X-API-Key": global_key}
        assert client.get("/api/v1/tenants/", headers=headers).status_code == 200
        replacement = keys.generate_key(keys.KeyKind.GLOBAL)
        with db.transaction() as session:  # as `switchboard` in another process would
            write_setting(session, GLOBAL_API_KEYS, [global_key_entry(replacement)])
        time.sleep(0.4)
        assert client.get("/api/v1/tenants/", headers=headers).status_code == 401
        assert client.get("/api/v1/tenants/", headers={"X-API-Key": replacement}).status_code == 200


def test_unknown_routes_are_404_problem_even_without_a_key(anonymous: TestClient) -> None:
    response = anonymous.get("/api/v1/nothing-here/")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_wrong_method_is_405_problem(api: TestClient) -> None:
    response = api.put("/api/v1/tenants/")
    assert response.status_code == 405
    assert "GET" in response.headers["allow"]
    assert response.json()["status"] == 405


def test_every_api_operation_requires_a_credential(anonymous: TestClient) -> None:
    spec = anonymous.get("/api/v1/openapi.json").json()
    checked = 0
    for path, operations in spec["paths"].items():
        if not path.startswith("/api/v1/") or path in ("/api/v1/auth/login/", "/api/v1/login/"):
            continue  # login is how a credential is obtained (auth/login, APIO's login)
        concrete = path.replace("{tenant_id}", "t1").replace("{group_id}", "g1")
        # Every other path parameter: a plausible id, so the route (not a 404 for the shape) answers.
        concrete = re.sub(r"\{[a-z_]+\}", "1", concrete)
        assert "{" not in concrete, path
        for method in operations:
            response = anonymous.request(method.upper(), concrete, json={})
            assert response.status_code == 401, (method, path, response.status_code)
            assert response.json()["title"] == "Unauthorized"
            checked += 1
    assert checked >= 40


def test_two_different_credentials_on_one_request_are_refused(anonymous: TestClient, global_key: str) -> None:
    other = keys.generate_key(keys.KeyKind.USER)
    both = {"Authorization": f"Bearer {global_key}", "X-API-Key": other}
    response = anonymous.get("/api/v1/tenants/", headers=both)
    assert response.status_code == 401
    assert "more than one credential" in response.json()["detail"]
    same = {"Authorization": f"Bearer {global_key}", "X-API-Key": global_key}
    assert anonymous.get("/api/v1/tenants/", headers=same).status_code == 200
