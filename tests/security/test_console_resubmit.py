"""Form resubmission in the console: every form that makes something answers with a redirect
(post/redirect/get). The page after a new key shows it once, and reloading it makes nothing and shows
nothing; the page after a lead upload shows that import, and reloading it imports nothing."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from starlette.testclient import TestClient

from switchboard.access.models import ConsoleSession
from switchboard.contact_centre.models import LeadImportRun
from switchboard.db.base import utcnow
from switchboard.db.engine import Database
from switchboard.settings import Settings
from tests.support.access_world import build_world, make_account
from tests.support.console import csrf_of, finished_import, import_status, signed_in_as
from tests.support.contact_centre import lead_campaigns

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
        assert [k["name"] for k in api.get("/api/v1/accounts/eu1/api-keys/").json()["apiKeys"]] == ["crm"]
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
            browser, "/console/settings/global-key/rotate", {"grace_hours": "0", "csrf": token}, db
        )
    assert key.startswith("sbg_")
    # One rotation: the key shown is the current one (a second rotation, with no grace, would have
    # ended it). `api` is another app, whose settings cache re-reads within a second: a flaky 401
    # on SQLite when asked at once.
    deadline = time.monotonic() + 5
    while (
        status := api.get("/api/v1/settings/", headers={"Authorization": f"Bearer {key}"}).status_code
    ) != 200:
        assert status == 401
        assert time.monotonic() < deadline, "the new key never worked"
        time.sleep(0.1)


def test_reloading_after_making_or_rotating_a_tenant_key_makes_no_other(
    api: TestClient, global_key: str, settings: Settings, db: Database
) -> None:
    build_world(api, global_key)
    with signed_in_as(settings, "ta2") as browser:
        token = csrf_of(browser.get("/console/settings/tenant-keys/").text)
        made = _post_then_reload(
            browser, "/console/settings/tenant-keys/?tenant=t2", {"name": "Noojee", "csrf": token}, db
        )
        (row,) = api.get("/api/v1/tenants/t2/tenant-keys/").json()["tenantKeys"]
        rotated = _post_then_reload(
            browser,
            f"/console/settings/tenant-keys/{row['keyId']}/rotate?tenant=t2",
            {"grace_hours": "1", "csrf": token},
            db,
        )
    assert made != rotated
    assert len(api.get("/api/v1/tenants/t2/tenant-keys/").json()["tenantKeys"]) == 2
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


# -- the lead import --------------------------------------------------------------------------

LEADS_CSV = b"firstName,phone,njExternalLeadId\nAnn,0390000001,crm-1\nBob,,crm-2\nCy,0390000003,crm-3\n"
FAILED_ROW = re.compile(
    r'<td data-label="Line" class="number">(\d+)</td><td data-label="External id">([^<]*)</td>'
)


def _upload(browser: TestClient, campaign: int) -> Any:
    token = csrf_of(browser.get(f"/console/campaigns/{campaign}/?tenant=t1&tab=import").text)
    return browser.post(
        f"/console/campaigns/{campaign}/import?tenant=t1",
        data={"csrf": token, "mode": "insert"},
        files={"file": ("leads.csv", LEADS_CSV, "text/csv")},
        follow_redirects=False,
    )


def _lead_count(api: TestClient, campaign: int) -> int:
    total: int = api.get(f"/api/v1/tenants/t1/campaigns/{campaign}/leads/").json()["total"]
    return total


def test_reloading_an_imports_page_imports_nothing_more(
    api: TestClient, global_key: str, settings: Settings
) -> None:
    s = lead_campaigns(api, global_key)
    with signed_in_as(settings, "agent") as browser:
        started = _upload(browser, s["campaign"])
        assert started.status_code == 303  # not the import's page itself: a reload would post again
        done = finished_import(browser, started)
        reloads = [browser.get(started.headers["location"]) for _ in range(2)]
    for shown in (done, *reloads):
        assert shown.status_code == 200
        assert "Inserted 2 leads." in shown.text
        assert FAILED_ROW.findall(shown.text) == [("3", "crm-2")]  # the line of the row with no number
        assert "no phone number (102)" in shown.text
    assert _lead_count(api, s["campaign"]) == 2
    audit = api.get("/api/v1/audit/", params={"limit": 500}).json()["auditEntries"]
    imports = [e for e in audit if e["operation"] == "POST /console/campaigns/{campaign_id}/import"]
    assert [e["object"] for e in imports] == [f"leads:{s['campaign']} insert 2/3"]


def test_an_imports_page_is_seen_only_by_who_sees_its_campaign(
    api: TestClient, global_key: str, settings: Settings
) -> None:
    s = lead_campaigns(api, global_key)
    with signed_in_as(settings, "agent") as browser:
        started = _upload(browser, s["campaign"])
        finished_import(browser, started)
    page = started.headers["location"]
    missing = re.sub(r"/imports/[0-9a-f]{32}", "/imports/" + "f" * 32, page)
    other_campaign = page.replace(f"/campaigns/{s['campaign']}/", f"/campaigns/{s['campaigns']['TA'][1]}/")
    with signed_in_as(settings, "ta1") as browser:  # its tenant's administrator sees the agent's import
        assert "Inserted 2 leads." in browser.get(page).text
        assert browser.get(other_campaign).status_code == 404  # a run is its own campaign's only
    for who in ("ta2", "eu1"):  # another tenant's administrator; an end user outside the team
        with signed_in_as(settings, who) as browser:
            hidden, absent = browser.get(page), browser.get(missing)
            assert hidden.status_code == absent.status_code == 404
            assert hidden.text == absent.text
            assert "Inserted" not in hidden.text


def test_an_import_whose_process_stopped_reads_as_interrupted(
    api: TestClient, global_key: str, settings: Settings, db: Database
) -> None:
    """A run left "running" by a process that died is shown interrupted once its heartbeat is stale;
    a fresh heartbeat (another worker's import under way) still reads as running."""
    s = lead_campaigns(api, global_key)
    with signed_in_as(settings, "agent") as browser:
        started = _upload(browser, s["campaign"])
        finished_import(browser, started)
        page = started.headers["location"]
        for heard, seen in ((timedelta(minutes=2), "interrupted"), (timedelta(seconds=1), "running")):
            with db.transaction() as session:
                session.execute(
                    update(LeadImportRun).values(
                        status="running", updated_at=utcnow() - heard, finished_at=None, failed=[]
                    )
                )
            shown = browser.get(page).text
            assert import_status(shown) == seen
            assert ("<noscript><meta http-equiv" in shown) == (seen == "running")
        assert "Interrupted: the server stopped during the import" not in shown
        with db.transaction() as session:
            session.execute(update(LeadImportRun).values(updated_at=utcnow() - timedelta(minutes=2)))
        assert "Interrupted: the server stopped during the import, after 3 of 3 rows (2 saved)." in (
            browser.get(page).text
        )
    assert _lead_count(api, s["campaign"]) == 2
