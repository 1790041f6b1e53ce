"""Console sign-in: cookie flags, CSRF, the same answer for unknown names, expiry (its failure budget,
shared with the API login: tests/security/test_login_budget.py)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from starlette.testclient import TestClient

from switchboard.access.models import ConsoleSession
from switchboard.console import sessions
from switchboard.db.base import utcnow
from switchboard.db.engine import Database
from switchboard.settings import Settings
from tests.support.access_world import PASSWORD, build_world
from tests.support.clients import make_client
from tests.support.console import csrf_of, sign_in


def test_sign_in_sets_a_strict_session_cookie_and_signs_out(
    api: TestClient, global_key: str, settings: Settings
) -> None:
    build_world(api, global_key)
    with make_client(settings) as browser:
        assert browser.get("/console/", follow_redirects=False).headers["location"] == "/console/sign-in"
        form = browser.get("/console/sign-in")
        assert form.status_code == 200
        assert form.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in form.headers["content-security-policy"]
        assert '<label for="username">' in form.text
        token = csrf_of(form.text)
        answer = browser.post(
            "/console/sign-in",
            data={"username": "ta1", "password": PASSWORD, "csrf": token},
            follow_redirects=False,
        )
        assert answer.status_code == 303
        cookie = next(v for k, v in answer.headers.multi_items() if k == "set-cookie" and "sb_session=" in v)
        assert cookie.startswith(f"{sessions.COOKIE}=")
        for flag in ("Secure", "HttpOnly", "SameSite=strict", "Path=/"):
            assert flag.lower() in cookie.lower(), cookie
        home = browser.get("/console/")
        assert home.status_code == 200
        assert "ta1" in home.text
        # The cookie is the console's only: the API does not take it.
        assert browser.get("/api/v1/tenants/").status_code == 401
        # Sign-out needs the page's CSRF token, then the session is over.
        assert browser.post("/console/sign-out", data={"csrf": "0" * 64}).status_code == 403
        assert browser.get("/console/").status_code == 200
        out = browser.post("/console/sign-out", data={"csrf": csrf_of(home.text)}, follow_redirects=False)
        assert out.status_code == 303
        old = cookie.split(";")[0].split("=", 1)[1]
        browser.cookies.set(sessions.COOKIE, old, domain="testserver")
        assert browser.get("/console/", follow_redirects=False).status_code == 303  # ended, even if replayed


def test_a_sign_in_without_the_forms_token_is_refused(
    api: TestClient, global_key: str, settings: Settings
) -> None:
    build_world(api, global_key)
    with make_client(settings) as browser:
        browser.get("/console/sign-in")
        forged = browser.post("/console/sign-in", data={"username": "ta1", "password": PASSWORD, "csrf": "x"})
        assert forged.status_code == 403
        assert sessions.COOKIE not in browser.cookies
    with make_client(settings) as other:  # a token from another browser's form does not do
        stolen = csrf_of(other.get("/console/sign-in").text)
    with make_client(settings) as browser:
        browser.get("/console/sign-in")
        assert (
            browser.post(
                "/console/sign-in", data={"username": "ta1", "password": PASSWORD, "csrf": stolen}
            ).status_code
            == 403
        )


def test_unknown_names_and_wrong_passwords_get_the_same_answer(
    api: TestClient, global_key: str, settings: Settings
) -> None:
    build_world(api, global_key)
    with make_client(settings) as browser:
        wrong = sign_in(browser, "ta1", "not the password")
        unknown = sign_in(browser, "nobody-here", "not the password")
    assert wrong[0] == unknown[0] == 401
    assert "Wrong username or password." in wrong[1]
    # The pages differ only by the name typed back into the field.
    assert wrong[1].replace('value="ta1"', "") == unknown[1].replace('value="nobody-here"', "")


def test_a_role_change_or_idle_time_ends_the_session(
    api: TestClient, global_key: str, settings: Settings, db: Database
) -> None:
    build_world(api, global_key)
    with make_client(settings) as browser:
        assert sign_in(browser, "ga1")[0] == 303
        assert browser.get("/console/").status_code == 200
        changed = api.patch("/api/v1/accounts/ga1/", json={"role": "user"})
        assert changed.status_code == 200, changed.text
        assert browser.get("/console/", follow_redirects=False).status_code == 303
        assert sign_in(browser, "ga1")[0] == 303  # a new session for the new role
        assert browser.get("/console/").status_code == 200
        with db.transaction() as session:
            idle_since = utcnow() - sessions.IDLE - timedelta(seconds=1)
            session.execute(update(ConsoleSession).values(last_seen_at=idle_since))
        assert browser.get("/console/", follow_redirects=False).status_code == 303
