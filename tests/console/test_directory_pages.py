"""Directory browser pages: each account sees exactly what the API's directory lists give it, the
search and pages work, and an object out of view reads exactly like a missing one."""

from __future__ import annotations

import re
from typing import Any

from starlette.testclient import TestClient

from switchboard.settings import Settings
from tests.support.clients import make_client
from tests.support.console import richer_world, signed_in_as
from tests.support.factories import make_group
from tests.support.pages import items_of

LINKED = re.compile(r'<td><a href="[^"]+">([^<]+)</a></td>')
DIRECTORY = "/console/directory"


def listed(page: str) -> list[str]:
    """The ids a directory list shows (its rows' first cells link to them)."""
    return LINKED.findall(page)


def api_ids(api: TestClient, headers: dict[str, str], path: str, field: str) -> list[str]:
    answer = api.get(f"/api/v1/{path}", headers=headers)
    assert answer.status_code == 200, answer.text
    return [item[field] for item in items_of(answer.json(), path)]


def test_a_system_account_lists_searches_and_pages_through_tenants(
    api: TestClient, global_key: str, settings: Settings
) -> None:
    richer_world(api, global_key)
    with signed_in_as(settings, "root") as browser:
        everything = browser.get(f"{DIRECTORY}/")
        assert everything.status_code == 200
        assert listed(everything.text) == ["t1", "t2"]
        assert "2 tenants." in everything.text
        assert '<label for="q">Tenant id or name</label>' in everything.text
        assert listed(browser.get(f"{DIRECTORY}/", params={"q": "T2"}).text) == ["t2"]
        assert listed(browser.get(f"{DIRECTORY}/", params={"q": "nant t1"}).text) == ["t1"]
        nothing = browser.get(f"{DIRECTORY}/", params={"q": "%"})  # a LIKE wildcard is just a character
        assert listed(nothing.text) == []
        assert "No tenant matches." in nothing.text
        first = browser.get(f"{DIRECTORY}/", params={"limit": "1"})
        assert listed(first.text) == ["t1"]
        assert "Previous page" not in first.text
        next_link = re.search(r'href="(/console/directory/\?[^"]+)" rel="next"', first.text)
        assert next_link
        second = browser.get(next_link.group(1).replace("&amp;", "&"))
        assert listed(second.text) == ["t2"]
        assert "Next page" not in second.text
        back = re.search(r'href="(/console/directory/\?[^"]+)" rel="prev"', second.text)
        assert back
        assert listed(browser.get(back.group(1).replace("&amp;", "&")).text) == ["t1"]


def test_a_tenant_account_goes_straight_to_its_tenant_and_searches_its_groups(
    api: TestClient, global_key: str, settings: Settings
) -> None:
    richer_world(api, global_key)
    for number in range(3, 6):
        make_group(api, "t1", f"sales{number}", groupName=f"Sales {number}")
    with signed_in_as(settings, "ta1") as browser:
        straight = browser.get(f"{DIRECTORY}/", follow_redirects=False)
        assert straight.status_code == 303
        assert straight.headers["location"] == f"{DIRECTORY}/t1/"
        tenant = browser.get(f"{DIRECTORY}/t1/")
        assert tenant.status_code == 200
        assert listed(tenant.text) == ["g1", "g2", "sales3", "sales4", "sales5"]
        for shown in ("Tenant t1", "Enterprise", "t1.example", "3 of 100"):  # g1: u1, u2 and ann
            assert shown in tenant.text, shown
        assert listed(browser.get(f"{DIRECTORY}/t1/", params={"q": "g2"}).text) == ["g2"]
        assert listed(browser.get(f"{DIRECTORY}/t1/", params={"q": "sales 4"}).text) == ["sales4"]
        first = browser.get(f"{DIRECTORY}/t1/", params={"q": "sales", "limit": "2"})
        assert listed(first.text) == ["sales3", "sales4"]
        assert "3 groups matching" in first.text
        assert 'href="/console/directory/t1/?q=sales&amp;limit=2&amp;after=sales4" rel="next"' in first.text
        last = browser.get(f"{DIRECTORY}/t1/", params={"q": "sales", "limit": "2", "after": "sales4"})
        assert listed(last.text) == ["sales5"]


def test_the_group_page_lists_end_users_and_service_users_with_search(
    api: TestClient, global_key: str, settings: Settings
) -> None:
    richer_world(api, global_key)
    with signed_in_as(settings, "ta1") as browser:
        users = browser.get(f"{DIRECTORY}/t1/groups/g1/")
        assert users.status_code == 200
        assert listed(users.text) == ["ann@t1.example", "u1@t1.example", "u2@t1.example"]
        for shown in ("Ann Smith", "150", "+15550100", "Ops", "End users (3)", "Service users (2)"):
            assert shown in users.text, shown
        for q, expected in (
            ("102", ["u2@t1.example"]),  # extension
            ("5550100", ["ann@t1.example"]),  # phone number
            ("smith", ["ann@t1.example"]),  # name
            ("U1", ["u1@t1.example"]),  # user id
            ("nobody", []),
        ):
            found = browser.get(f"{DIRECTORY}/t1/groups/g1/", params={"q": q})
            assert listed(found.text) == expected, q
        first = browser.get(f"{DIRECTORY}/t1/groups/g1/", params={"limit": "2"})
        assert listed(first.text) == ["ann@t1.example", "u1@t1.example"]
        assert "?limit=2&amp;tab=users&amp;after=u1%40t1.example" in first.text
        second = browser.get(f"{DIRECTORY}/t1/groups/g1/", params={"limit": "2", "after": "u1@t1.example"})
        assert listed(second.text) == ["u2@t1.example"]
        assert "?limit=2&amp;tab=users&amp;before=u2%40t1.example" in second.text
        services = browser.get(f"{DIRECTORY}/t1/groups/g1/", params={"tab": "services"})
        assert listed(services.text) == ["ivr@t1.example", "sales@t1.example"]
        for shown in ("IVR", "Sales queue", "Premium call center", "500"):
            assert shown in services.text, shown
        found = browser.get(f"{DIRECTORY}/t1/groups/g1/", params={"tab": "services", "q": "sales"})
        assert listed(found.text) == ["sales@t1.example"]
        user = browser.get(f"{DIRECTORY}/t1/groups/g1/users/ann@t1.example/")
        assert user.status_code == 200
        for shown in ("Ann", "Smith", "+15550100", "Ops", "150"):
            assert shown in user.text, shown
        queue = browser.get(f"{DIRECTORY}/t1/groups/g1/services/sales@t1.example/")
        assert queue.status_code == 200
        assert "Premium call center" in queue.text


def test_every_role_sees_what_the_api_gives_it(api: TestClient, global_key: str, settings: Settings) -> None:
    world = richer_world(api, global_key)
    for role, username in (("tenant_admin", "ta1"), ("group_admin", "ga1"), ("user", "eu1")):
        headers = world.headers[role]
        with signed_in_as(settings, username) as browser:
            groups = browser.get(f"{DIRECTORY}/t1/")
            assert listed(groups.text) == api_ids(api, headers, "tenants/t1/groups/", "groupId"), username
            users = browser.get(f"{DIRECTORY}/t1/groups/g1/")
            assert listed(users.text) == api_ids(api, headers, "tenants/t1/groups/g1/users/", "userId"), (
                username
            )
            services = browser.get(f"{DIRECTORY}/t1/groups/g1/", params={"tab": "services"})
            api_services = api_ids(
                api, headers, "tenants/t1/groups/g1/services/ivrs/", "serviceUserId"
            ) + api_ids(api, headers, "tenants/t1/groups/g1/services/call_centers/", "serviceUserId")
            assert listed(services.text) == sorted(api_services), username
    with signed_in_as(settings, "eu1") as browser:
        # An end user: itself, its group's and tenant's profiles; no other user, no service user.
        assert listed(browser.get(f"{DIRECTORY}/t1/").text) == ["g1"]
        assert listed(browser.get(f"{DIRECTORY}/t1/groups/g1/").text) == ["u1@t1.example"]
        # Search never reaches past the view: u2's extension finds nothing.
        assert listed(browser.get(f"{DIRECTORY}/t1/groups/g1/", params={"q": "102"}).text) == []
        services = browser.get(f"{DIRECTORY}/t1/groups/g1/", params={"tab": "services"})
        assert listed(services.text) == []
        assert "Service users (0)" in services.text
        assert browser.get(f"{DIRECTORY}/t1/groups/g1/users/u1@t1.example/").status_code == 200
        assert browser.get(f"{DIRECTORY}/t1/groups/g1/users/u2@t1.example/").status_code == 404
        assert browser.get(f"{DIRECTORY}/t1/groups/g1/services/ivr@t1.example/").status_code == 404


def test_an_object_out_of_view_reads_exactly_like_a_missing_one(
    api: TestClient, global_key: str, settings: Settings
) -> None:
    world = richer_world(api, global_key)
    pairs: dict[str, list[tuple[str, str]]] = {
        "ta1": [
            ("/t2/", "/no-such-tenant/"),
            ("/t2/groups/g1/", "/t1/groups/no-such-group/"),
            ("/t2/groups/g1/users/u4@t2.example/", "/t1/groups/g1/users/nobody@t1.example/"),
            ("/t1/groups/g1/users/u3@t1.example/", "/t1/groups/g1/users/nobody@t1.example/"),
            ("/t2/groups/g1/services/ivr@t2.example/", "/t1/groups/g1/services/nobody@t1.example/"),
        ],
        "ga1": [("/t1/groups/g2/", "/t1/groups/no-such-group/")],
        "eu1": [
            ("/t1/groups/g2/", "/t1/groups/no-such-group/"),
            ("/t1/groups/g1/users/u2@t1.example/", "/t1/groups/g1/users/nobody@t1.example/"),
            ("/t1/groups/g1/services/ivr@t1.example/", "/t1/groups/g1/services/nobody@t1.example/"),
        ],
    }
    for username, cases in pairs.items():
        with signed_in_as(settings, username) as browser:
            for hidden_path, missing_path in cases:
                hidden = browser.get(DIRECTORY + hidden_path)
                missing = browser.get(DIRECTORY + missing_path)
                assert hidden.status_code == missing.status_code == 404, (username, hidden_path)
                assert hidden.text == missing.text, (username, hidden_path)
                assert "The requested object was not found." in hidden.text
                assert "t2" not in hidden.text
    # The API agrees: the same objects are 404 for the same accounts.
    assert api.get("/api/v1/tenants/t2/groups/g1/", headers=world.headers["tenant_admin"]).status_code == 404
    assert api.get("/api/v1/tenants/t1/groups/g2/", headers=world.headers["user"]).status_code == 404


def test_the_pages_are_read_only_and_need_a_session(
    api: TestClient, global_key: str, settings: Settings
) -> None:
    richer_world(api, global_key)
    with make_client(settings) as anonymous:
        for path in ("/", "/t1/", "/t1/groups/g1/", "/t1/groups/g1/users/u1@t1.example/"):
            answer = anonymous.get(DIRECTORY + path, follow_redirects=False)
            assert answer.status_code == 303, path
            assert answer.headers["location"] == "/console/sign-in"
    with signed_in_as(settings, "root") as browser:
        page: Any = browser.get(f"{DIRECTORY}/t1/groups/g1/")
        # The only form that posts is the header's sign-out: nothing here changes the directory.
        assert page.text.count('method="post"') == 1
        assert page.headers["cache-control"] == "no-store"
        assert browser.post(f"{DIRECTORY}/t1/groups/g1/").status_code == 405
        assert api.get("/api/v1/tenants/t1/groups/g1/users/").json()["total"] == 3
