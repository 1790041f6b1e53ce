"""The console in a real browser (Debian's Chromium through Playwright) against a real server:
seed 000's flow, Users | Accounts -> Advanced -> Security -> Create API Key, end to end."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from switchboard.settings import Settings
from tests.access_world import PASSWORD, build_world, make_account
from tests.factories import created

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
T1 = "/api/v1/tenants/t1"

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")
if not Path(CHROMIUM).exists():
    pytest.skip(
        f"{CHROMIUM} is missing: `apt-get install chromium` (CI installs it) to run the browser tests",
        allow_module_level=True,
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def server(settings: Settings, global_key: str) -> Iterator[str]:
    """`switchboard serve` over HTTPS (self-signed) on the test's database."""
    port = _free_port()
    env = {
        **os.environ,
        "SWITCHBOARD_DATABASE_URL": settings.effective_database_url,
        "SWITCHBOARD_DATA_DIR": str(settings.data_dir),
        "SWITCHBOARD_LOG_LEVEL": "warning",
        "SWITCHBOARD_SIM_RING_SECONDS": "0",
        "SWITCHBOARD_SIM_ANSWER_SECONDS": "0",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "switchboard", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None:
                    raise RuntimeError(
                        process.stderr.read().decode() if process.stderr else "server died"
                    ) from None
                time.sleep(0.1)
        yield f"https://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


@pytest.fixture
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            yield chromium
        finally:
            chromium.close()


def shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in(context: Any, base: str, username: str) -> Any:
    page = context.new_page()
    page.goto(f"{base}/console/")
    assert page.url.endswith("/console/sign-in")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/console/")
    return page


def campaign_ids(api: TestClient, key: str) -> list[int]:
    """What Noojee's getCampaignList gives this key (not the client's own credential)."""
    listed = api.post(
        "/servicemanager/rest/CampaignAPI/getCampaignList",
        params={"apiKey": key},
        headers={"Authorization": ""},
    )
    assert listed.status_code == 200, listed.text
    return sorted(c["id"] for c in listed.json()["entities"])


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
    refused = api.post(
        "/servicemanager/rest/CampaignAPI/getCampaignList",
        params={"apiKey": key},
        headers={"Authorization": ""},
    )
    assert refused.status_code == 401
    context.close()


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
