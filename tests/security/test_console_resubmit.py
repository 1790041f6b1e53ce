"""Form resubmission in the console: every form that makes a key answers with a redirect (post/redirect/get),
the page after it shows the key once, and reloading that page makes nothing and shows nothing."""

from __future__ import annotations

import re

from sqlalchemy import select
from starlette.testclient import TestClient

from switchboard.access.models import ConsoleSession
from switchboard.db.engine import Database
from switchboard.settings import Settings
from tests.support.access_world import build_world, make_account
from tests.support.console import csrf_of, signed_in_as

NEW_KEY = re.compile(r'id="new-key" class="key" value="([^"]+)"')


def _post_then_reload(browser: TestClient, path: str, form: dict[str, str], db: Database) -> str:
    """POST the form: a 303 to the new-key page, which shows the key once; a reload shows it no more."""
    answer = browser.post(path, data=form, follow_redirects=False)
    assert answer.status_code == 303, answer.text[:500]
    assert answer.headers["location"] == "/console/new-key"
    assert NEW_KEY.search(answer.text) is None
    with db.transaction() as session:  # kept sealed with the cookie's secret, never in clear
        (sealed,) = [s for s in session.scalars(select(ConsoleSession.once_sealed)) if s]
    shown = browser.get("/console/new-key")
    assert shown.status_code == 200
    assert "This is the only time the key is shown." in shown.text
    match = NEW_KEY.search(shown.text)
    assert match
    key = match.group(1)
    assert key not in sealed
    for _ in range(2):  # reloads
        again = browser.get("/console/new-key")
        assert again.status_code == 410
        assert "shown once only" in again.text
        assert key not in again.text
    with db.transaction() as session:
        assert not any(session.scalars(select(ConsoleSession.once_sealed)))
    return key


def test_reloading_after_creating_an_api_key_makes_no_second_key(
    api: TestClient, global_key: str, settings: Settings, db: Database
) -> None:
    build_world(api, global_key)
    with signed_in_as(settings, "ta1") as browser:
        token = csrf_of(browser.get("/console/accounts/eu1/?tab=security").text)
        key = _post_then_reload(
            browser, "/console/accounts/eu1/api-keys", {"name": "crm", "scope_calls": "on", "csrf": token}, db
        )
        # The redirect's target, asked for again and again, made nothing more.
        assert [k["name"] for k in api.get("/api/v1/accounts/eu1/api-keys/").json()] == ["crm"]
        assert browser.get("/console/accounts/eu1/?tab=security").status_code == 200
    assert key.startswith("sbu_")
    assert api.get("/api/v1/calls/", headers={"Authorization": f"Bearer {key}"}).status_code == 200


def test_reloading_after_rotating_the_global_key_rotates_nothing_more(
    api: TestClient, global_key: str, settings: Settings, db: Database
) -> None:
    build_world(api, global_key)
    make_account(api, "root2", "system")
    with signed_in_as(settings, "root2") as browser:
        token = csrf_of(browser.get("/console/settings/").text)
        key = _post_then_reload(
            browser, "/console/settings/global-key/rotate", {"grace_hours": "1", "csrf": token}, db
        )
    assert key.startswith("sbg_")
    # One rotation: the key shown is the current one (a second rotation would have replaced it).
    settings_page = api.get("/api/v1/settings/", headers={"Authorization": f"Bearer {key}"})
    assert settings_page.status_code == 200


def test_reloading_after_making_or_rotating_a_tenant_key_makes_no_other(
    api: TestClient, global_key: str, settings: Settings, db: Database
) -> None:
    build_world(api, global_key)
    with signed_in_as(settings, "ta2") as browser:
        token = csrf_of(browser.get("/console/settings/tenant-keys/").text)
        made = _post_then_reload(
            browser, "/console/settings/tenant-keys/?tenant=t2", {"name": "Noojee", "csrf": token}, db
        )
        (row,) = api.get("/api/v1/tenants/t2/tenant-keys/").json()["items"]
        rotated = _post_then_reload(
            browser,
            f"/console/settings/tenant-keys/{row['keyId']}/rotate?tenant=t2",
            {"grace_hours": "1", "csrf": token},
            db,
        )
    assert made != rotated
    assert len(api.get("/api/v1/tenants/t2/tenant-keys/").json()["items"]) == 2
    for key in (made, rotated):
        assert api.get("/api/v1/tenants/t2/", headers={"Authorization": f"Bearer {key}"}).status_code == 200


def test_the_new_key_page_shows_nothing_to_another_session(
    api: TestClient, global_key: str, settings: Settings, db: Database
) -> None:
    build_world(api, global_key)
    with signed_in_as(settings, "ta1") as browser, signed_in_as(settings, "ta1") as other:
        token = csrf_of(browser.get("/console/accounts/eu1/?tab=security").text)
        made = browser.post(
            "/console/accounts/eu1/api-keys",
            data={"name": "crm", "scope_calls": "on", "csrf": token},
            follow_redirects=False,
        )
        assert made.status_code == 303
        assert other.get("/console/new-key").status_code == 410  # the same account, another browser
        assert NEW_KEY.search(browser.get("/console/new-key").text)
