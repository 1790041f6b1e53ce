"""Console forms in Chromium: a refused form comes back as typed with the words next to the field,
a change leaves a notice on the next page, and an account is made, changed and disabled."""

from __future__ import annotations

import re
from typing import Any

from starlette.testclient import TestClient

from tests.support.access_world import PASSWORD, build_world, make_account
from tests.support.browser import ONE_ENGINE, browser, require_browser, server, shot, sign_in

require_browser()
pytestmark = ONE_ENGINE

__all__ = ["browser", "server"]  # fixtures, used by name


def test_a_refused_key_form_and_the_notices_in_the_browser(
    api: TestClient, global_key: str, server: str, browser: Any
) -> None:
    build_world(api, global_key)
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1280, "height": 900})
    page = sign_in(context, server, "ta1")
    page.goto(f"{server}/console/accounts/eu1/")
    page.get_by_role("button", name="Switch to Advanced").click()
    page.get_by_role("link", name="Security").click()
    page.get_by_label("Name", exact=True).fill("CRM")
    allow = page.get_by_label(re.compile("^Allowed from"))
    allow.fill("10.0.0.0/8, 300.1.1.1")
    page.get_by_label("campaigns").uncheck()
    page.get_by_role("button", name="Create API Key").click()
    message = page.locator("#err-new-key-allow")
    message.wait_for()
    assert message.inner_text() == "Allowed from, entry 2: '300.1.1.1' is not an IP address or network"
    # What was typed is all there, the field marked and described by the words.
    assert allow.input_value() == "10.0.0.0/8, 300.1.1.1"
    assert allow.get_attribute("aria-invalid") == "true"
    assert allow.get_attribute("aria-describedby") == "err-new-key-allow"
    assert page.evaluate("document.activeElement.id") == "key-allow"  # brought into view, focused
    assert page.get_by_label("Name", exact=True).input_value() == "CRM"
    assert not page.get_by_label("campaigns").is_checked()
    assert "Bad Request" not in page.content()
    shot(page, "80-key-form-refused")
    allow.fill("10.0.0.0/8")
    page.get_by_role("button", name="Create API Key").click()
    page.get_by_role("status").filter(has_text="Key 'CRM' created.").wait_for()
    assert page.locator("#new-key").input_value().startswith("sbu_")
    shot(page, "81-key-created-notice")
    page.get_by_role("link", name="Back to the Security tab").click()
    assert page.get_by_role("status").count() == 0  # the notice was for one page
    page.get_by_role("link", name="Revoke CRM").click()
    page.get_by_role("button", name="Revoke the key").click()
    page.get_by_role("status").filter(has_text="Key 'CRM' revoked.").wait_for()
    shot(page, "82-key-revoked-notice")
    context.close()


def test_an_account_made_changed_and_disabled_in_the_browser(
    api: TestClient, global_key: str, server: str, browser: Any
) -> None:
    build_world(api, global_key)
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1280, "height": 900})
    page = sign_in(context, server, "ta1")
    page.get_by_role("link", name="Users | Accounts").click()
    page.get_by_label("Username", exact=True).fill("t1.dan")
    page.get_by_label("Name", exact=True).fill("Dan")
    page.get_by_label("Role").select_option("user")
    page.get_by_label(re.compile("^Group")).fill("g1")
    page.get_by_label(re.compile("^Password")).fill("too short")
    page.get_by_role("button", name="Create account").click()
    message = page.locator("#err-new-account-password")
    message.wait_for()
    assert message.inner_text() == "Password: at least 12 characters"
    assert page.get_by_label("Username", exact=True).input_value() == "t1.dan"
    assert page.get_by_label(re.compile("^Password")).input_value() == ""  # never sent back
    shot(page, "83-account-form-refused")
    page.get_by_role("button", name="Create account").click()  # empty: one is generated
    page.get_by_role("status").filter(has_text="Account 't1.dan' created.").wait_for()
    generated = page.locator("#new-key").input_value()
    assert len(generated) >= 12
    shot(page, "84-account-created-password-shown-once")
    page.get_by_role("link", name="Go to t1.dan").click()
    page.get_by_label("Role").select_option("group_admin")
    page.get_by_label(re.compile("^Linked end user")).fill("u2@t1.example")
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_role("status").filter(has_text="Account 't1.dan' saved.").wait_for()
    dan = api.get("/api/v1/accounts/t1.dan/").json()
    assert (dan["role"], dan["groupId"], dan["linkedUserId"]) == ("group_admin", "g1", "u2@t1.example")
    page.get_by_role("button", name="Disable t1.dan").click()
    page.get_by_role("status").filter(has_text="Account 't1.dan' disabled.").wait_for()
    assert api.get("/api/v1/accounts/t1.dan/").json()["enabled"] is False
    shot(page, "85-account-disabled")
    refused = api.post("/api/v1/auth/login", json={"username": "t1.dan", "password": generated})
    assert refused.status_code == 401
    page.get_by_role("button", name="Enable t1.dan").click()
    page.get_by_role("status").filter(has_text="Account 't1.dan' enabled.").wait_for()
    page.get_by_label(re.compile("^New password")).fill(PASSWORD)
    page.get_by_role("button", name="Set this password").click()
    page.get_by_role("status").filter(has_text="Password of 't1.dan' changed").wait_for()
    assert (
        api.post("/api/v1/auth/login", json={"username": "t1.dan", "password": PASSWORD}).status_code == 200
    )
    context.close()


def test_settings_and_teams_forms_come_back_with_the_words_in_the_browser(
    api: TestClient, global_key: str, server: str, browser: Any
) -> None:
    build_world(api, global_key)
    make_account(api, "root3", "system")
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1280, "height": 900})
    page = sign_in(context, server, "root3")
    page.goto(f"{server}/console/settings/")
    entries = page.get_by_label(re.compile("Addresses and networks allowed"))
    entries.fill("127.0.0.1\n300.1.1.1")
    page.locator("#IP_ALLOWLIST").get_by_role("button", name="Save").click()
    message = page.locator("#IP_ALLOWLIST-error")
    message.wait_for()
    assert message.inner_text() == "IP allowlist, line 2: '300.1.1.1' is not an IP address or network"
    assert entries.input_value() == "127.0.0.1\n300.1.1.1"
    shot(page, "86-settings-allowlist-refused")
    entries.fill("127.0.0.1\n::1")
    page.locator("#IP_ALLOWLIST").get_by_role("button", name="Save").click()
    page.get_by_role("status").filter(has_text="IP allowlist: saved.").wait_for()
    page.goto(f"{server}/console/teams/?tenant=t1")
    page.get_by_label("Name", exact=True).fill("Sales")
    page.get_by_role("button", name="Create team").click()
    page.get_by_role("status").filter(has_text="Team created.").wait_for()
    page.get_by_label("Name", exact=True).fill("Sales")
    page.get_by_role("button", name="Create team").click()
    page.locator("#err-new-team-name").wait_for()
    assert page.get_by_label("Name", exact=True).input_value() == "Sales"
    shot(page, "87-team-name-taken")
    context.close()
