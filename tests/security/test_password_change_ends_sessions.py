"""A password change ends the account's other login tokens, console sessions and APIO sessions
(whoever learnt the old password is out), whoever makes it (the account, an admin, the shell); its
API keys keep working. Across worker processes: tests/test_workers.py."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient
from typer.testing import CliRunner

from switchboard.cli.main import app as cli
from switchboard.settings import Settings
from tests.support.access_world import PASSWORD, build_world, eventually_status, login
from tests.support.clients import make_client
from tests.support.console import sign_in

NEW_PASSWORD = "a brand new passphrase"
ME = "/api/v1/accounts/ta1/"


def _status(client: TestClient, credential: str, path: str = ME) -> int:
    return client.get(path, headers={"Authorization": f"Bearer {credential}"}).status_code


def _console_open(browser: TestClient) -> bool:
    return browser.get("/console/", follow_redirects=False).status_code == 200


def _apio_session(client: TestClient, username: str = "ta1", password: str = PASSWORD) -> dict[str, str]:
    """An APIO session (POST /api/v1/login/) on `client`'s app, kept out of its cookie jar: the
    headers that carry it (its cookie, its CSRF token)."""
    response = client.post("/api/v1/login/", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    session, csrf = client.cookies["sessionid"], client.cookies["csrftoken"]
    client.cookies.clear()
    return {"Cookie": f"sessionid={session}", "X-CSRFToken": csrf}


def _apio_open(client: TestClient, session: dict[str, str]) -> bool:
    return client.get(ME, headers={"Cookie": session["Cookie"]}).status_code == 200


def test_a_password_change_ends_the_other_tokens_and_sessions_but_not_the_keys(
    api: TestClient, global_key: str, settings: Settings, anonymous: TestClient, cli_env: Path
) -> None:
    build_world(api, global_key)
    key = api.post("/api/v1/accounts/ta1/api-keys/", json={"name": "crm"}).json()["key"]
    mine, other = login(anonymous, "ta1"), login(anonymous, "ta1")
    bystander = login(anonymous, "ga1")  # another account: untouched
    with make_client(settings) as browser, make_client(settings) as thief:
        assert sign_in(browser, "ta1")[0] == sign_in(thief, "ta1")[0] == 303
        assert _console_open(browser)
        assert _console_open(thief)
        apio = _apio_session(anonymous)  # on the app that hears of the changes below at once
        assert _apio_open(anonymous, apio)

        # 1. The account changes its own password with one of its tokens: that token goes on.
        changed = anonymous.patch(
            ME, json={"password": NEW_PASSWORD}, headers={"Authorization": f"Bearer {mine}"}
        )
        assert changed.status_code == 200, changed.text
        assert _status(anonymous, mine) == 200
        assert _status(anonymous, other) == 401
        assert not _console_open(browser)
        assert not _console_open(thief)
        assert not _apio_open(anonymous, apio)
        assert _status(anonymous, key, "/api/v1/tenants/") == 403  # authenticated (a user key's limits)
        assert _status(anonymous, bystander, "/api/v1/accounts/ga1/") == 200
        assert sign_in(browser, "ta1", PASSWORD)[0] == 401  # the old password is gone too
        assert sign_in(browser, "ta1", NEW_PASSWORD)[0] == 303

        # 2. An admin sets it: every token and session of the account ends, keys stay.
        system = {"Authorization": f"Bearer {global_key}"}
        apio = _apio_session(anonymous, password=NEW_PASSWORD)
        assert anonymous.patch(ME, json={"password": PASSWORD}, headers=system).status_code == 200
        assert _status(anonymous, mine) == 401
        assert not _console_open(browser)
        assert not _apio_open(anonymous, apio)
        assert _status(anonymous, key, "/api/v1/tenants/") == 403

        # 3. The shell (another process on the database): the same, on the running app too.
        fresh = login(anonymous, "ta1")
        assert sign_in(browser, "ta1")[0] == 303
        apio = _apio_session(anonymous)
        result = CliRunner().invoke(cli, ["accounts", "set-password", "ta1"])
        assert result.exit_code == 0, result.output
        eventually_status(anonymous, ME, fresh, 401, seconds=2)
        assert not _console_open(browser)
        assert not _apio_open(anonymous, apio)  # the app that has heard
        assert _status(anonymous, key, "/api/v1/tenants/") == 403


def test_a_password_changed_through_an_apio_session_keeps_that_session_only(
    api: TestClient, global_key: str, anonymous: TestClient
) -> None:
    build_world(api, global_key)
    token = login(anonymous, "ta1")
    apio, other = _apio_session(anonymous), _apio_session(anonymous)
    assert _apio_open(anonymous, other)
    no_csrf = {"Cookie": apio["Cookie"]}
    assert anonymous.patch(ME, json={"password": NEW_PASSWORD}, headers=no_csrf).status_code == 403
    assert _status(anonymous, token) == 200
    changed = anonymous.patch(ME, json={"password": NEW_PASSWORD}, headers=apio)
    assert changed.status_code == 200, changed.text
    assert _apio_open(anonymous, apio)
    assert not _apio_open(anonymous, other)
    assert _status(anonymous, token) == 401
