"""The directory browser in a real browser: a system account walks tenants -> groups -> users and
service users with search on a laptop; an end user on a phone sees itself only and cannot tell
another tenant's group from a missing one."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.support.browser import ONE_ENGINE, browser, require_browser, server, shot, sign_in
from tests.support.console import richer_world

__all__ = ["browser", "server"]  # fixtures, used by name

require_browser()
pytestmark = ONE_ENGINE


def first_cells(page: Any) -> list[str]:
    return [cell.strip() for cell in page.locator("tbody tr td:first-child a").all_inner_texts()]


def test_a_system_account_browses_the_directory_with_search(
    api: TestClient, global_key: str, server: str, browser: Any
) -> None:
    richer_world(api, global_key)
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1280, "height": 800})
    page = sign_in(context, server, "root")
    page.get_by_role("link", name="Directory").click()
    page.wait_for_url(f"{server}/console/directory/")
    assert first_cells(page) == ["t1", "t2"]
    page.get_by_label("Tenant id or name").fill("t1")
    page.get_by_role("button", name="Search").click()
    assert first_cells(page) == ["t1"]
    shot(page, "30-directory-tenants")
    page.get_by_role("link", name="t1", exact=True).click()
    assert page.get_by_role("heading", level=1).inner_text() == "Tenant t1"
    assert first_cells(page) == ["g1", "g2"]
    shot(page, "31-directory-tenant")
    page.get_by_role("link", name="g1", exact=True).click()
    assert first_cells(page) == ["ann@t1.example", "u1@t1.example", "u2@t1.example"]
    shot(page, "32-directory-group-users")
    page.get_by_label("User id, name, extension or phone number").fill("102")
    page.get_by_role("button", name="Search").click()
    assert first_cells(page) == ["u2@t1.example"]
    page.get_by_role("link", name="Service users (2)").click()
    assert first_cells(page) == ["ivr@t1.example", "sales@t1.example"]
    assert "Premium call center" in page.locator("tbody").inner_text()
    shot(page, "33-directory-group-services")
    page.get_by_role("link", name="End users (3)").click()
    page.get_by_role("link", name="ann@t1.example").click()
    assert page.get_by_role("heading", level=1).inner_text() == "ann@t1.example"
    assert "Ops" in page.locator("dl").inner_text()
    shot(page, "34-directory-user")
    context.close()


def test_an_end_user_on_a_phone_sees_itself_and_cannot_probe(
    api: TestClient, global_key: str, server: str, browser: Any
) -> None:
    richer_world(api, global_key)
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 390, "height": 844})
    page = sign_in(context, server, "eu1")
    page.goto(f"{server}/console/directory/")  # its own tenant, straight away
    page.wait_for_url(f"{server}/console/directory/t1/")
    assert first_cells(page) == ["g1"]
    shot(page, "35-directory-tenant-end-user-phone")
    page.get_by_role("link", name="g1", exact=True).click()
    assert first_cells(page) == ["u1@t1.example"]
    shot(page, "36-directory-group-end-user-phone")
    page.get_by_role("link", name="Service users (0)").click()
    assert first_cells(page) == []
    answers = []
    for path in ("t2/groups/g1/", "t1/groups/no-such-group/", "t1/groups/g1/users/u2@t1.example/"):
        response = page.goto(f"{server}/console/directory/{path}")
        assert response is not None
        answers.append((response.status, page.locator("main").inner_text()))
    assert answers[0] == answers[1] == answers[2]
    assert answers[0][0] == 404
    shot(page, "37-directory-not-found-phone")
    context.close()
