"""Settings and key editing in Chromium: the END_USER_NAME preview as one types, the allowlist's
lock-out warning, global key rotation, a key's scopes, and a forged form refused (CSRF)."""

from __future__ import annotations

import re
from typing import Any

from starlette.testclient import TestClient

from tests.support.access_world import build_world, make_account
from tests.support.browser import ONE_ENGINE, browser, require_browser, server, shot, sign_in

require_browser()
pytestmark = ONE_ENGINE

__all__ = ["browser", "server"]  # fixtures, used by name


def test_settings_in_the_browser(api: TestClient, global_key: str, server: str, browser: Any) -> None:
    build_world(api, global_key)
    make_account(api, "root2", "system")
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1280, "height": 800})
    page = sign_in(context, server, "root2")
    page.get_by_role("link", name="Settings").click()
    # The preview follows the typing (the server renders it: one implementation of the rules).
    field = page.get_by_label("END_USER_NAME")
    field.fill("{{last_name}}, {{first_name}}")
    page.locator("#name-preview li", has_text="Lovelace, Ada").wait_for()
    field.fill("{{first_name}} {{email}}")
    page.locator("#END_USER_NAME-error", has_text="unknown parameter email").wait_for()
    field.fill("{{last_name}} {{first_name}}")
    page.locator("#name-preview li", has_text="Lovelace Ada").wait_for()
    shot(page, "20-settings")
    assert api.get("/api/v1/settings/").json()["END_USER_NAME"] == "{{first_name}} {{last_name}}"  # unsaved
    page.locator("#END_USER_NAME").get_by_role("button", name="Save").click()
    page.get_by_role("status").wait_for()
    assert api.get("/api/v1/settings/").json()["END_USER_NAME"] == "{{last_name}} {{first_name}}"
    # A list without this browser's address: a warning first, nothing saved.
    page.get_by_label(re.compile("Addresses and networks allowed")).fill("198.51.100.0/24")
    page.locator("#IP_ALLOWLIST").get_by_role("button", name="Save").click()
    assert "Saving this list will lock you out" in page.locator("#IP_ALLOWLIST").inner_text()
    shot(page, "21-settings-lock-out-warning")
    assert api.get("/api/v1/settings/ip-allowlist/").json()["entries"] == ["127.0.0.1/32", "::1/128"]
    # Global key rotation: shown once, with its copy button.
    page.goto(f"{server}/console/settings/")
    page.get_by_label(re.compile("Keep the current key working")).fill("1")
    page.get_by_role("button", name="Rotate the global key").click()
    new_key = page.locator("#new-key").input_value()
    assert new_key.startswith("sbg_")
    shot(page, "22-global-key-rotated")
    page.reload()  # rotates nothing more: the key shown stays the current one
    assert page.locator("#new-key").count() == 0
    assert api.get("/api/v1/settings/", headers={"Authorization": f"Bearer {new_key}"}).status_code == 200
    assert api.get("/api/v1/settings/").status_code == 200  # the old key works for the grace hour
    context.close()


def test_a_template_typed_before_the_script_ran_is_previewed(
    api: TestClient, global_key: str, server: str, browser: Any
) -> None:
    # Regression: the preview listened for input only from when the deferred script ran, so a
    # template typed earlier (a slow link; CI under load) was never previewed.
    build_world(api, global_key)
    make_account(api, "root2", "system")
    context = browser.new_context(ignore_https_errors=True)
    page = sign_in(context, server, "root2")
    held: list[Any] = []
    page.route(
        "**/console/static/console.js", lambda route: held.append(route)
    )  # the script waits until we let it go
    page.goto(f"{server}/console/settings/", wait_until="commit")
    page.get_by_label("END_USER_NAME").fill("{{last_name}}, {{first_name}}")
    while not held:
        page.wait_for_timeout(20)
    held[0].continue_()
    page.locator("#name-preview li", has_text="Lovelace, Ada").wait_for(timeout=10_000)
    context.close()


def test_key_scopes_and_a_forged_form(api: TestClient, global_key: str, server: str, browser: Any) -> None:
    build_world(api, global_key)
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 390, "height": 844})  # a phone
    page = sign_in(context, server, "ta1")
    page.goto(f"{server}/console/accounts/ta1/")
    page.get_by_role("button", name="Switch to Advanced").click()
    page.get_by_role("link", name="Security").click()
    page.get_by_role("link", name="Edit crm").click()
    page.get_by_label("campaigns").uncheck()
    page.get_by_label("recordings").uncheck()
    page.get_by_label(re.compile("Stops working on")).fill("2099-06-30")
    shot(page, "23-key-edit-phone")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"{server}/console/accounts/ta1/?tab=security")
    (key,) = api.get("/api/v1/accounts/ta1/api-keys/").json()["apiKeys"]
    assert key["scopes"] == ["calls"]
    assert key["expiresAt"].startswith("2099-06-30")
    # A form whose token is not this session's (as a forged cross-site post would be): refused.
    page.get_by_role("link", name="Edit crm").click()
    page.locator("main input[name=csrf]").evaluate("field => { field.value = 'forged' }")
    page.get_by_label("campaigns").check()
    page.get_by_role("button", name="Save").click()
    assert "The form has expired or did not come from this site" in page.locator("main").inner_text()
    shot(page, "24-csrf-refused-phone")
    assert api.get("/api/v1/accounts/ta1/api-keys/").json()["apiKeys"][0]["scopes"] == ["calls"]
    context.close()
