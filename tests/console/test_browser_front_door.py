"""The front door in a real browser: the site's root leads to the console, the API's index is a page
of links that work, and no page view asks for something missing (its icon included)."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.support.access_world import PASSWORD, build_world
from tests.support.browser import ONE_ENGINE, browser, require_browser, server, shot

__all__ = ["browser", "server"]  # fixtures, used by name

require_browser()


@ONE_ENGINE
def test_from_the_root_to_a_console_page_nothing_is_missing(
    api: TestClient, global_key: str, server: str, browser: Any
) -> None:
    build_world(api, global_key)
    context = browser.new_context(ignore_https_errors=True)
    answers: list[tuple[int, str]] = []
    context.on("response", lambda response: answers.append((response.status, response.url)))
    page = context.new_page()
    page.goto(f"{server}/")
    assert page.url == f"{server}/console/sign-in"
    page.get_by_label("Username").fill("ta1")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server}/console/")
    shot(page, "front-door-console-home")
    page.goto(f"{server}/api/v1/")
    assert page.locator("h1").inner_text() == "Switchboard API"
    shot(page, "front-door-api-index")
    page.get_by_role("link", name="console", exact=True).click()
    page.wait_for_url(f"{server}/console/")
    page.goto(f"{server}/api/v1/")
    page.get_by_role("link", name="docs", exact=True).click()
    page.wait_for_url(f"{server}/api/v1/docs")
    assert [answer for answer in answers if answer[0] >= 400] == []
    assert (200, f"{server}/console/static/favicon.svg") in answers  # the icon the pages name
    context.close()
