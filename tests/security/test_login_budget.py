"""Password guessing: one failure budget per address and per account for every way of signing in
(API login, APIO login, console), reserved before the hash is checked so a concurrent burst cannot outrun it;
and a valid credential passes from an address whose failures are spent (no NAT-wide lock-out)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from starlette.testclient import TestClient

from switchboard.access import keys
from switchboard.access import login as login_module
from switchboard.access.login import LIMITED_ADDRESS_TRIES
from switchboard.settings import Settings
from tests.support.access_world import PASSWORD, build_world, login
from tests.support.clients import make_client
from tests.support.console import csrf_of, sign_in

BUDGET = 10  # the default failed authentications per address (and now per account) and minute
ATTACKER = ("198.51.100.7", 40000)  # one address: a guesser, and its innocent NAT neighbours
ELSEWHERE = ("203.0.113.9", 40000)
LOGIN = "/api/v1/auth/login"
APIO_LOGIN = "/api/v1/login/"  # APIO's: a session cookie instead of a token, the same budget


def _allow_test_addresses(api: TestClient) -> None:
    allow = ["127.0.0.1/32", "198.51.100.0/24", "203.0.113.0/24"]
    assert api.put("/api/v1/settings/ip-allowlist/", json={"entries": allow}).status_code == 200


def _count_checks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every password checked; each takes a little time, as argon2 does, to widen any race."""
    checked: list[int] = []
    real = login_module.verify_password

    def counting(password_hash: str | None, password: str) -> bool:
        checked.append(1)
        time.sleep(0.01)
        return real(password_hash, password)

    monkeypatch.setattr(login_module, "verify_password", counting)
    return checked


def _in_bursts(attempt: Callable[[int], int], total: int, at_once: int) -> list[int]:
    """`total` attempts, `at_once` in flight together (threads released together)."""
    codes: list[int] = []
    for first in range(0, total, at_once):
        start = threading.Barrier(at_once)

        def one(n: int, start: threading.Barrier = start) -> None:
            start.wait()
            codes.append(attempt(n))

        threads = [threading.Thread(target=one, args=(n,)) for n in range(first, first + at_once)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return codes


def _console_guess(browser: TestClient, token: str, n: int) -> int:
    form = {"username": "ta1", "password": f"guess {n}", "csrf": token}
    return browser.post("/console/sign-in", data=form, follow_redirects=False).status_code


def _api_guess(client: TestClient, n: int, path: str = LOGIN) -> int:
    return client.post(path, json={"username": "ta1", "password": f"guess {n}"}).status_code


@pytest.mark.parametrize("surface", ["console", "api", "apio"])
def test_a_concurrent_burst_of_guesses_is_capped_by_the_one_budget(
    api: TestClient, global_key: str, settings: Settings, monkeypatch: pytest.MonkeyPatch, surface: str
) -> None:
    """The attack run: 100 wrong passwords, 50 at a time. Before, the console checked 58 in 15 s
    and then let the right one in; the API login's check-then-count let a burst through too."""
    build_world(api, global_key)
    _allow_test_addresses(api)
    checked = _count_checks(monkeypatch)
    with make_client(settings, client=ATTACKER) as attacker:
        if surface == "console":
            token = csrf_of(attacker.get("/console/sign-in").text)
            codes = _in_bursts(lambda n: _console_guess(attacker, token, n), 100, 50)
        else:
            path = LOGIN if surface == "api" else APIO_LOGIN
            codes = _in_bursts(lambda n: _api_guess(attacker, n, path), 100, 50)
        assert set(codes) <= {401, 429}, sorted(set(codes))
        assert len(checked) <= BUDGET, len(checked)
        assert codes.count(401) <= BUDGET, codes.count(401)
        # The account's budget is spent: the right password is refused too, on both surfaces and
        # from any address (else the guess that happens to be right would be let in).
        status, page = sign_in(attacker, "ta1")
        assert status == 429
        assert "Too many failed sign-ins" in page  # a clear page, not an error
        with make_client(settings, client=ELSEWHERE) as owner:
            # Another app on the same database, as another worker: it learns the shared counts at
            # its next sync (a fraction of a second).
            time.sleep(0.6)
            for path in (LOGIN, APIO_LOGIN):
                refused = owner.post(path, json={"username": "ta1", "password": PASSWORD})
                assert refused.status_code == 429
                assert int(refused.headers["retry-after"]) >= 1
                assert "sessionid" not in refused.cookies
            assert sign_in(owner, "ta1")[0] == 429
        # ...and the address's: from there, any other account gets no more than a couple of tries.
        others = [
            attacker.post(LOGIN, json={"username": "ga1", "password": "x"}).status_code for _ in range(4)
        ]
        assert others == [401] * LIMITED_ADDRESS_TRIES + [429] * (4 - LIMITED_ADDRESS_TRIES)
    assert len(checked) <= BUDGET + LIMITED_ADDRESS_TRIES  # the two on ga1 above


def test_a_limited_address_still_signs_in_with_valid_credentials_but_guesses_no_further(
    api: TestClient, global_key: str, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_world(api, global_key)
    _allow_test_addresses(api)
    user_key = api.post("/api/v1/accounts/ta2/api-keys/", json={"name": "crm"}).json()["key"]
    with make_client(settings, client=ELSEWHERE) as elsewhere:
        token = login(elsewhere, "eu1")
    with make_client(settings, client=ATTACKER) as nat:
        forged = {"Authorization": f"Bearer {keys.generate_key(keys.KeyKind.USER)}"}
        codes = [nat.get("/api/v1/tenants/", headers=forged).status_code for _ in range(BUDGET + 2)]
        assert codes == [401] * BUDGET + [429] * 2

        # Everyone else behind that address: valid keys and tokens pass, and so do sign-ins with
        # the right password, on the API and in the console.
        def status(path: str, credential: str) -> int:
            return nat.get(path, headers={"Authorization": f"Bearer {credential}"}).status_code

        assert status("/api/v1/tenants/", global_key) == 200
        assert status("/api/v1/tenants/t2/", user_key) == 403  # authenticated; not a campaign area
        assert status("/api/v1/accounts/eu1/", token) == 200
        assert nat.post(LOGIN, json={"username": "ta1", "password": PASSWORD}).status_code == 200
        assert nat.post(APIO_LOGIN, json={"username": "eu1", "password": PASSWORD}).status_code == 200
        assert sign_in(nat, "ga1")[0] == 303
        # The guesser gets no more than a couple of tries at any account from there.
        checked = _count_checks(monkeypatch)
        guesses = [
            nat.post(LOGIN, json={"username": "ta2", "password": f"guess {n}"}).status_code for n in range(5)
        ]
        assert guesses == [401] * LIMITED_ADDRESS_TRIES + [429] * (5 - LIMITED_ADDRESS_TRIES)
        assert len(checked) == LIMITED_ADDRESS_TRIES
        assert sign_in(nat, "ta2", "one more guess")[0] == 429
        # Made-up keys are still refused from that address.
        assert nat.get("/api/v1/tenants/", headers=forged).status_code == 429
