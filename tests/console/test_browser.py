"""The console in a real browser (Debian's Chromium through Playwright) against a real server:
seed 000's flow, Users | Accounts -> Advanced -> Security -> Create API Key, end to end."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from tests.support.access_world import build_world, make_account
from tests.support.browser import ONE_ENGINE, SCREENSHOTS, browser, require_browser, server, shot, sign_in
from tests.support.factories import created

__all__ = ["browser", "server"]  # fixtures, used by name
T1 = "/api/v1/tenants/t1"

require_browser()


def campaign_ids(api: TestClient, key: str) -> list[int]:
    """What Noojee's getCampaignList gives this key (not the client's own credential)."""
    listed = api.post(
        "/servicemanager/rest/CampaignAPI/getCampaignList",
        params={"apiKey": key},
        headers={"Authorization": ""},
    )
    assert listed.status_code == 200, listed.text
    return sorted(c["id"] for c in listed.json()["entities"])


@ONE_ENGINE
def test_seed_000_create_an_api_key_in_the_console(
    api: TestClient, global_key: str, server: str, browser: Any
) -> None:
    build_world(api, global_key)
    make_account(api, "agent", "user", "t1", "g1")
    campaigns, teams = {}, {}
    for team in ("A", "B"):
        teams[team] = created(api.post(f"{T1}/teams/", json={"name": team}))["id"]
        template = created(api.post(f"{T1}/campaign-templates/", json={"name": f"T{team}", "team": team}))
        campaigns[team] = created(
            api.post(f"{T1}/campaigns/", json={"name": f"Campaign {team}", "templateId": template["id"]})
        )["id"]
    created(api.post(f"{T1}/teams/A/members/", json={"username": "agent"}), 200)

    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1280, "height": 800})
    page = sign_in(context, server, "ta1")
    shot(page, "01-home")
    page.get_by_role("link", name="Users | Accounts").click()
    page.get_by_label("Username starts with").fill("ag")
    page.get_by_role("button", name="Search").click()
    shot(page, "02-accounts")
    page.get_by_role("link", name="agent", exact=True).click()
    assert page.get_by_role("link", name="Security").count() == 0  # Basic mode: no Security tab
    page.get_by_role("button", name="Switch to Advanced").click()
    page.get_by_role("link", name="Security").click()
    shot(page, "03-security-tab")
    page.get_by_label("Name").fill("CRM integration")
    page.get_by_role("button", name="Create API Key").click()
    key = page.locator("#new-key").input_value()
    assert page.get_by_role("alert").inner_text().startswith("This is the only time the key is shown.")
    shot(page, "04-key-created")
    # Post/redirect/get: reloading the page that showed the key makes no second key, shows it no more.
    assert page.url == f"{server}/console/new-key"
    page.reload()
    assert page.locator("#new-key").count() == 0
    assert "shown once only" in page.content()
    assert [k["name"] for k in api.get("/api/v1/accounts/agent/api-keys/").json()["apiKeys"]] == [
        "CRM integration"
    ]
    # The key works against Noojee's getCampaignList and sees only team A's campaign.
    assert campaign_ids(api, key) == [campaigns["A"]]
    # Accounts | Team Management: agent joins team B, and the same key sees B's campaign at once.
    page.get_by_role("link", name="Team Management").click()
    page.get_by_label("Add an account to B").fill("agent")
    page.locator("#team-" + str(teams["B"])).locator("..").get_by_role("button", name="Add member").click()
    shot(page, "06-team-management")
    assert campaign_ids(api, key) == sorted(campaigns.values())
    # The template's Details tab sets its Team: template TB without a team is for admins only.
    page.get_by_role("link", name="Campaign templates").click()
    page.get_by_role("link", name="TB").click()
    page.get_by_label("Team").select_option("")
    shot(page, "07-template-details")
    page.get_by_role("button", name="Save").click()
    assert page.get_by_label("Team").input_value() == ""
    assert campaign_ids(api, key) == [campaigns["A"]]
    # Shown once: the Security tab lists it by its first characters only, and the mode is remembered.
    page.goto(f"{server}/console/accounts/agent/?tab=security")
    assert key not in page.content()
    assert key[:10] in page.content()
    # Revoke, with a confirmation step; the key stops working at once.
    page.get_by_role("link", name="Revoke").click()
    shot(page, "05-revoke-confirm")
    page.get_by_role("button", name="Revoke the key").click()
    page.wait_for_url(f"{server}/console/accounts/agent/?tab=security")
    assert "revoked" in page.content()
    # The test's API app is another process than the server: the revocation reaches its credential
    # cache through the change feed's poll (0.1 s), which a loaded machine can delay a little.
    deadline = time.monotonic() + 5
    while True:
        refused = api.post(
            "/servicemanager/rest/CampaignAPI/getCampaignList",
            params={"apiKey": key},
            headers={"Authorization": ""},
        )
        if refused.status_code != 200 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert refused.status_code == 401
    context.close()


@ONE_ENGINE
def test_an_end_user_cannot_reach_admin_pages_or_tell_what_exists(
    api: TestClient, global_key: str, server: str, browser: Any
) -> None:
    build_world(api, global_key)
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 390, "height": 844})  # a phone
    page = sign_in(context, server, "eu1")
    shot(page, "08-end-user-home-phone")
    hidden = page.goto(f"{server}/console/accounts/ta1/")
    hidden_text = page.locator("main").inner_text()
    missing = page.goto(f"{server}/console/accounts/no-such-account/")
    assert hidden is not None
    assert missing is not None
    assert hidden.status == missing.status == 404
    assert page.locator("main").inner_text() == hidden_text
    page.goto(f"{server}/console/accounts/")
    listed = page.locator("tbody").inner_text()
    assert "eu1" in listed
    assert "ta1" not in listed
    context.close()


def test_screenshots_folder_is_not_committed() -> None:
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", str(SCREENSHOTS / "x.png")],
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )
    assert ignored.returncode == 0 or shutil.which("git") is None
