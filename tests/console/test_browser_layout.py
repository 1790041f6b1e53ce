"""The console in a real browser, per role and per screen: the navigation offers what opens, a
team's supervisor sees its team, audit reasons read as words, and the pages fit a 1280 px laptop
(no table cut off, the header on one line) and a 390 px phone (no sideways scrolling of the page).
Screenshots of each page at both widths go to SHOTS, to be looked at."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from tests.console.test_navigation import EXPECTED
from tests.support.access_world import add_resellers, build_world
from tests.support.browser import ONE_ENGINE, SCREENSHOTS, browser, dial, require_browser, server, sign_in
from tests.support.console import ROLE_ACCOUNTS, with_team_supervisor
from tests.support.factories import created

__all__ = ["browser", "server"]  # fixtures, used by name

require_browser()
pytestmark = ONE_ENGINE

LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SHOTS = Path(os.environ.get("SWITCHBOARD_LAYOUT_SHOTS", SCREENSHOTS / "layout"))
PAGES = {
    "home": "/console/",
    "audit": "/console/audit/",
    "calls": "/console/calls/",
    "teams": "/console/teams/?tenant=t1",
    "directory": "/console/directory/t1/groups/g1/",
    "accounts": "/console/accounts/",
    "templates": "/console/templates/?tenant=t1",
    "campaigns": "/console/campaigns/?tenant=t1",
    "settings": "/console/settings/",
    "tenant-keys": "/console/settings/tenant-keys/?tenant=t1",
}

# Where each table ends, against the room it has; where the page ends, against the window; and
# how far apart the header's items sit vertically (on one line: their middles within a few px).
MEASURE = """() => {
  const box = (element) => element.getBoundingClientRect();
  const bar = document.querySelector("header.bar");
  const items = [...bar.querySelectorAll(".brand, nav a, .who, button")];
  const middles = items.map((item) => (box(item).top + box(item).bottom) / 2);
  return {
    window: document.documentElement.clientWidth,
    page: document.documentElement.scrollWidth,
    header: Math.max(...middles) - Math.min(...middles),
    tables: [...document.querySelectorAll("main table")].map((table) => ({
      name: table.className || table.querySelector("th")?.innerText || "table",
      scroll: table.scrollWidth,
      client: table.clientWidth,
      right: box(table).right,
    })),
  };
}"""


def test_each_role_is_offered_the_pages_that_open(
    api: TestClient, global_key: str, server: str, browser: Any
) -> None:
    world = build_world(api, global_key)
    add_resellers(api, world)
    with_team_supervisor(api)
    for role, username in ROLE_ACCOUNTS.items():
        context = browser.new_context(ignore_https_errors=True, viewport=LAPTOP)
        page = sign_in(context, server, username)
        nav = page.get_by_role("navigation", name="Console")
        labels = nav.get_by_role("link").all_inner_texts()
        assert labels == EXPECTED[role], role
        assert _misfits(page.evaluate(MEASURE), laptop=True) == [], role  # the header on one line
        for label in labels:
            nav.get_by_role("link", name=label, exact=True).click()
            page.wait_for_load_state()
            assert page.get_by_role("heading", name="Forbidden").count() == 0, (role, label)
            current = page.get_by_role("navigation", name="Console").locator('[aria-current="page"]')
            assert current.all_inner_texts() == [label], (role, label)
            nav = page.get_by_role("navigation", name="Console")
        context.close()


def test_a_supervisor_sees_its_team_without_administrators_forms(
    api: TestClient, global_key: str, server: str, browser: Any
) -> None:
    build_world(api, global_key)
    with_team_supervisor(api)
    context = browser.new_context(ignore_https_errors=True, viewport=LAPTOP)
    page = sign_in(context, server, "eu1")
    page.get_by_role("link", name="Team Management").click()
    assert page.get_by_role("heading", name="A", exact=True).is_visible()
    assert page.get_by_role("cell", name="supervisor").is_visible()
    assert page.get_by_text("No teams yet.").count() == 0
    assert page.get_by_role("button").all_inner_texts() == ["Sign out"]  # no form to submit
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "teams-supervisor-1280.png"), full_page=True)
    context.close()


def test_pages_fit_a_laptop_and_a_phone(api: TestClient, global_key: str, server: str, browser: Any) -> None:
    world = build_world(api, global_key)
    add_resellers(api, world)
    with_team_supervisor(api)
    # Refusals with long reasons (and a search's), so the audit log's Reason column has words in it.
    api.get("/api/v1/tenants/t1/", headers=world.headers["user_key"])
    api.get("/api/v1/audit/", headers=world.headers["reseller_admin"])
    api.post("/api/v1/search/objects/", json={"tenant_id": "t2"}, headers=world.headers["user"])
    api.get("/api/v1/audit/")  # the test process's entries, written
    # Live calls in their widest states: recording (two buttons and who records), a campaign's
    # long name, a caller id, an inbound call.
    template = created(api.post("/api/v1/tenants/t1/campaign-templates/", json={"name": "TA", "team": "A"}))
    campaign = {
        "name": "Spring renewals 2027 (second wave, existing customers)",
        "templateId": template["id"],
    }
    campaign_id = created(api.post("/api/v1/tenants/t1/campaigns/", json=campaign))["id"]
    dial(browser, server, global_key, "101", record=True, callerId="+15550100", campaignId=campaign_id)
    dial(browser, server, global_key, "102", autoAnswer=True, record=True)
    dial(browser, server, global_key, "103")
    SHOTS.mkdir(parents=True, exist_ok=True)
    misfits = []  # every page at every width measured (and shot) before the verdict
    for size_name, size in (("1280", LAPTOP), ("390", PHONE)):
        context = browser.new_context(ignore_https_errors=True, viewport=size)
        page = sign_in(context, server, "root")
        for name, path in PAGES.items():
            page.goto(f"{server}{path}")
            if name == "calls":
                page.locator("tbody tr[id^=call-]").first.wait_for(timeout=15_000)
            page.screenshot(path=str(SHOTS / f"{name}-{size_name}.png"), full_page=True)
            # The start of the page, at a size that can be looked at without shrinking.
            top = {
                "x": 0,
                "y": 0,
                "width": size["width"],
                "height": 1500 if size is PHONE else size["height"],
            }
            page.screenshot(path=str(SHOTS / f"{name}-{size_name}-top.png"), full_page=True, clip=top)
            misfits += [
                (name, size_name, misfit) for misfit in _misfits(page.evaluate(MEASURE), size is LAPTOP)
            ]
            if name == "audit":
                reasons = page.locator('td[data-label="Reason"]').all_inner_texts()
                assert any("reach campaign-related endpoints only" in reason for reason in reasons)
                assert not [reason for reason in reasons if "{" in reason], reasons
        context.close()
    assert not misfits


def _misfits(measured: dict[str, Any], laptop: bool) -> list[str]:
    """What does not fit: the page or a table wider than the window; on a laptop also a header on
    more than one line, and a table with more than its room (cut off, or to scroll)."""
    found = []
    if measured["page"] > measured["window"]:
        found.append(f"page {measured['page']} px wide in a {measured['window']} px window")
    if laptop and measured["header"] > 4:
        found.append(f"header on more than one line (middles {measured['header']} px apart)")
    for table in measured["tables"]:
        if table["right"] > measured["window"]:  # on a phone a table may scroll, inside the window
            found.append(f"table {table['name']} ends at {table['right']} px")
        if laptop and table["scroll"] > table["client"]:
            found.append(f"table {table['name']}: {table['scroll']} px of content in {table['client']} px")
    return found
