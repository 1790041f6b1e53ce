"""Login and logout: equal failures, throttling before hashing, concurrency cap, expiry."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import update
from starlette.testclient import TestClient

from switchboard.access import keys
from switchboard.access import login as login_module
from switchboard.access.models import AccessToken
from switchboard.db.base import utcnow
from switchboard.db.engine import Database
from switchboard.settings import Settings
from tests.support.access_world import PASSWORD, login, make_account
from tests.support.clients import make_client
from tests.support.factories import make_tree

LOGIN = "/api/v1/auth/login"


def test_login_gives_a_token_that_works_until_logout(api: TestClient) -> None:
    make_tree(api)
    make_account(api, "ann", "tenant_admin", "t1")
    response = api.post(LOGIN, json={"username": "ANN", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["tokenType"] == "Bearer"
    assert body["accessToken"].startswith("sbt_")
    assert response.headers["cache-control"] == "no-store"
    token = {"Authorization": f"Bearer {body['accessToken']}"}
    assert api.get("/api/v1/tenants/t1/", headers=token).status_code == 200
    assert api.post("/api/v1/auth/logout", headers=token).status_code == 204
    assert api.get("/api/v1/tenants/t1/", headers=token).status_code == 401
    assert api.post("/api/v1/auth/logout").status_code == 400  # the global key is not a login token


def test_wrong_name_and_wrong_password_are_the_same_answer(api: TestClient) -> None:
    make_tree(api)
    make_account(api, "ann", "tenant_admin", "t1")
    wrong_password = api.post(LOGIN, json={"username": "ann", "password": "not the password"})
    wrong_name = api.post(LOGIN, json={"username": "nobody", "password": "not the password"})
    assert wrong_password.status_code == wrong_name.status_code == 401
    assert wrong_password.content == wrong_name.content


def test_unknown_username_still_costs_one_verification(
    api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str | None] = []
    real = login_module.verify_password

    def counting(password_hash: str | None, password: str) -> bool:
        calls.append(password_hash)
        return real(password_hash, password)

    monkeypatch.setattr(login_module, "verify_password", counting)
    api.post(LOGIN, json={"username": "nobody", "password": "whatever it is"})
    assert calls == [None]  # verified against the decoy hash


def test_failed_logins_are_throttled_before_hashing(
    settings: Settings, global_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    strict = settings.model_copy(update={"auth_failures_per_minute": 3})
    calls = []
    monkeypatch.setattr(login_module, "verify_password", lambda h, p: calls.append(1) or False)
    with make_client(strict) as client:
        codes = [client.post(LOGIN, json={"username": "x", "password": "y"}).status_code for _ in range(6)]
        assert codes[:3] == [401, 401, 401]
        assert codes[3:] == [429, 429, 429]
        assert len(calls) == 3  # the refused attempts never reached the hasher
        limited = client.post(LOGIN, json={"username": "x", "password": "y"})
        assert int(limited.headers["retry-after"]) >= 1
        # The failures are the address's: a made-up key from it is refused too, a valid key is
        # not (it is limited by its own budget: one guesser must not lock out a whole NAT).
        forged = {"X-API-Key": keys.generate_key(keys.KeyKind.USER)}
        assert client.get("/api/v1/tenants/", headers=forged).status_code == 429
        assert client.get("/api/v1/tenants/", headers={"X-API-Key": global_key}).status_code == 200
    with make_client(strict, client=("127.0.0.2", 1)) as other:
        # ...but another address is not (the allowlist must let it in first).
        assert other.get("/healthz").status_code == 403


def test_concurrent_verifications_are_capped(
    settings: Settings, global_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    def slow(password_hash: str | None, password: str) -> bool:
        time.sleep(2.6)  # longer than a waiting login may queue (2 s)
        return False

    monkeypatch.setattr(login_module, "verify_password", slow)
    capped = settings.model_copy(update={"login_concurrency": 1})
    codes: list[int] = []
    with make_client(capped) as client:

        def attempt() -> None:
            codes.append(client.post(LOGIN, json={"username": "x", "password": "y"}).status_code)

        threads = [threading.Thread(target=attempt) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(codes) == [401, 429]  # one verified; the other was turned away, not queued forever


@pytest.mark.timing
def test_wrong_name_and_wrong_password_take_the_same_time(settings: Settings, global_key: str) -> None:
    from statistics import median

    from switchboard.access import passwords

    # A real cost (8 MiB) so hashing dominates, as it does in production.
    costly = settings.model_copy(
        update={"argon2_memory_kib": 8192, "argon2_time_cost": 2, "auth_failures_per_minute": 100}
    )
    with make_client(costly) as client:
        client.headers["Authorization"] = f"Bearer {global_key}"
        make_tree(client)
        make_account(client, "ann", "tenant_admin", "t1")  # hashed at the cost above
        del client.headers["Authorization"]
        timings: dict[str, list[float]] = {"name": [], "password": []}
        for _ in range(12):
            for case, username in (("name", "nobody"), ("password", "ann")):
                started = time.perf_counter()
                assert (
                    client.post(LOGIN, json={"username": username, "password": "wrong one"}).status_code
                    == 401
                )
                timings[case].append(time.perf_counter() - started)
    passwords.configure(time_cost=1, memory_kib=64)
    name, password = median(timings["name"]), median(timings["password"])
    assert abs(name - password) / max(name, password) < 0.25, (name, password)


def test_expired_token_is_refused(api: TestClient, db: Database) -> None:
    make_tree(api)
    make_account(api, "ann", "tenant_admin", "t1")
    token = {"Authorization": f"Bearer {login(api, 'ann')}"}
    assert api.get("/api/v1/tenants/t1/", headers=token).status_code == 200
    from switchboard.signals.feed import bump

    with db.transaction() as session:
        session.execute(update(AccessToken).values(expires_at=utcnow()))
        bump(session, "credentials")
    time.sleep(0.3)  # another process's change reaches this one through the change feed
    assert api.get("/api/v1/tenants/t1/", headers=token).status_code == 401


def test_login_input_is_validated(api: TestClient) -> None:
    assert api.post(LOGIN, json={"username": "x"}).status_code == 400
    assert api.post(LOGIN, json={"username": "x", "password": "y", "otp": 1}).status_code == 400
