"""Live calls and the audit log in a real browser: a call appears without a reload (and the table
holds still while the operator is in it), recording started and stopped from the page, a hang-up
after confirming, the page without JavaScript, and the audit log filtered."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.support.access_world import build_world
from tests.support.browser import ONE_ENGINE, browser, dial, require_browser, server, shot, sign_in

__all__ = ["browser", "server"]  # fixtures, used by name

require_browser()
pytestmark = ONE_ENGINE

LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def row_of(page: Any, unique_id: str) -> Any:
    return page.locator(f"#call-{unique_id.replace('.', '-')}")


def recording_states(api: TestClient, unique_id: str) -> list[str]:
    found = api.get("/api/v1/recordings/", params={"uniqueId": unique_id}).json()["recordings"]
    return [recording["state"] for recording in found]


def test_live_calls_refresh_themselves_and_control_recording(
    api: TestClient, global_key: str, server: str, browser: Any
) -> None:
    build_world(api, global_key)
    context = browser.new_context(ignore_https_errors=True, viewport=LAPTOP)
    page = sign_in(context, server, "ta1")
    page.get_by_role("link", name="Live calls").click()
    assert page.get_by_text("No live calls you may see.").is_visible()
    page.evaluate("window.loadedOnce = true")  # gone if the page reloads
    first = dial(browser, server, global_key, "102")
    start = page.get_by_role("button", name=f"Start recording of call {first}", exact=True)
    start.wait_for(timeout=15_000)  # it appeared (and connected) without a reload
    assert page.evaluate("window.loadedOnce") is True
    assert "updated" in page.locator("#calls-count").inner_text()
    shot(page, "60-calls-live")

    # While focus is inside the table it holds still: no button moves under the operator.
    start.focus()
    second = dial(browser, server, global_key, "103")
    page.wait_for_timeout(7_000)
    assert row_of(page, second).count() == 0
    page.locator("h1").evaluate("heading => document.activeElement.blur()")
    row_of(page, second).wait_for(timeout=15_000)

    page.get_by_role("button", name=f"Start recording of call {first}", exact=True).click()
    page.wait_for_url(f"{server}/console/calls/")
    assert recording_states(api, first) == ["recording"]
    assert row_of(page, first).locator(".badge").inner_text() == "recording"
    assert page.get_by_role("button", name=f"Start recording of call {first}", exact=True).count() == 0
    shot(page, "61-calls-recording")
    page.get_by_role("button", name=f"Stop recording of call {first}", exact=True).click()
    page.wait_for_url(f"{server}/console/calls/")
    assert recording_states(api, first) == ["stopped"]
    assert row_of(page, first).get_by_text("not recording").is_visible()

    # Hanging up asks first.
    row_of(page, second).get_by_role("link", name=f"Hang up call {second}", exact=True).click()
    assert page.get_by_role("heading", name=f"Hang up call {second}?").is_visible()
    shot(page, "62-calls-hangup-confirm")
    page.get_by_role("button", name="Hang up").click()
    page.wait_for_url(f"{server}/console/calls/")
    assert row_of(page, second).count() == 0

    phone = context.new_page()
    phone.set_viewport_size(PHONE)
    phone.goto(f"{server}/console/calls/")
    row_of(phone, first).wait_for()
    shot(phone, "63-calls-phone")

    # The audit log, filtered to this administrator's allowed writes: the recording is there.
    page.get_by_role("link", name="Audit log").click()
    page.get_by_label("Principal starts with").fill("account:ta1")
    page.get_by_label("Decision").select_option("allow")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**/console/audit/?*")
    objects = page.locator("td.audit-object").all_inner_texts()
    assert f"call:{first} recording start" in objects
    assert f"call:{first} recording stop" in objects
    principals = page.locator("td.audit-principal").all_inner_texts()
    assert principals
    assert all(principal.startswith("account:ta1 via session") for principal in principals)
    assert set(page.locator("tbody .badge").all_inner_texts()) == {"allow"}
    shot(page, "64-audit-filtered")
    phone.goto(page.url)
    shot(phone, "65-audit-phone")
    context.close()


def test_without_javascript_the_page_reloads_itself_and_end_users_see_their_calls(
    api: TestClient, global_key: str, server: str, browser: Any
) -> None:
    build_world(api, global_key)
    context = browser.new_context(ignore_https_errors=True, viewport=PHONE, java_script_enabled=False)
    page = sign_in(context, server, "eu1")
    page.get_by_role("link", name="Live calls").click()
    theirs = dial(browser, server, global_key, "102")  # not eu1's extension: never shown
    mine = dial(browser, server, global_key, "101")
    row_of(page, mine).wait_for(timeout=20_000)  # the <noscript> refresh (10 s) reloaded the page
    assert row_of(page, theirs).count() == 0
    assert page.get_by_role("button", name=f"Start recording of call {mine}", exact=True).is_visible()
    shot(page, "66-calls-end-user-phone")
    page.get_by_role("link", name="Stop refreshing").click()
    assert page.get_by_role("link", name="Refresh automatically").is_visible()
    page.goto(f"{server}/console/audit/")
    assert page.get_by_role("heading", name="Forbidden").is_visible()
    assert page.get_by_role("link", name="Audit log").count() == 0
    shot(page, "67-audit-refused-phone")
    context.close()
