"""The console through a test client: its forms' CSRF token, signing in, and a richer access world
for the directory pages."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from starlette.testclient import TestClient

from switchboard.settings import Settings
from tests.support.access_world import PASSWORD, World, build_world, make_account
from tests.support.clients import make_client
from tests.support.factories import created, make_user

CSRF = re.compile(r'name="csrf" value="([0-9a-f]{64})"')
IMPORT_STATUS = re.compile(r'data-status="(running|done|stopped|interrupted)" data-done="(\d+)"')
IMPORT_PAGE = re.compile(r"^/console/campaigns/\d+/imports/[0-9a-f]{32}\?tenant=")


def csrf_of(page: str) -> str:
    match = CSRF.search(page)
    assert match, page[:500]
    return match.group(1)


def import_status(page: str) -> str:
    found = IMPORT_STATUS.search(page)
    assert found, page[-2000:]
    return found.group(1)


def finished_import(browser: TestClient, started: Any, timeout: float = 60.0) -> Any:
    """The page an upload redirected to (a 303: post/redirect/get), asked for until the import ended."""
    assert started.status_code == 303, started.text[-2000:]
    location = started.headers["location"]
    assert IMPORT_PAGE.match(location), location
    deadline = time.monotonic() + timeout
    while True:
        page = browser.get(location)
        assert page.status_code == 200, page.text[-2000:]
        if import_status(page.text) != "running":
            return page
        assert time.monotonic() < deadline, "the import did not end"
        time.sleep(0.05)


def sign_in(browser: TestClient, username: str, password: str = PASSWORD) -> tuple[int, str]:
    token = csrf_of(browser.get("/console/sign-in").text)
    answer = browser.post(
        "/console/sign-in",
        data={"username": username, "password": password, "csrf": token},
        follow_redirects=False,
    )
    return answer.status_code, answer.text


@contextmanager
def signed_in_as(settings: Settings, username: str) -> Iterator[TestClient]:
    with make_client(settings) as browser:
        assert sign_in(browser, username)[0] == 303
        yield browser


def richer_world(api: TestClient, global_key: str) -> World:
    """The access world, a system account, and members with a department, a phone number and a
    call centre, so every column has something to show."""
    world = build_world(api, global_key)
    make_account(api, "root", "system")
    make_user(
        api,
        "t1",
        "g1",
        "ann@t1.example",
        firstName="Ann",
        lastName="Smith",
        extension="150",
        phoneNumber="+15550100",
        department={"departmentName": "Ops"},
    )
    created(
        api.post(
            "/api/v1/tenants/t1/groups/g1/services/call_centers/",
            json={
                "serviceUserId": "sales@t1.example",
                "serviceInstanceProfile": {"name": "Sales queue", "extension": "500"},
                "type": "Premium",
            },
        )
    )
    return world


# The signed-in account of each role of the navigation tests (build_world, add_resellers and
# with_team_supervisor make them): system, reseller admin, tenant admin, group admin, and two
# end users of t1, eu1 supervising team A and eu2 an agent in it.
ROLE_ACCOUNTS = {
    "system": "root",
    "reseller_admin": "ra1",
    "tenant_admin": "ta1",
    "group_admin": "ga1",
    "supervisor": "eu1",
    "agent": "eu2",
}


def with_team_supervisor(api: TestClient) -> None:
    """On top of build_world: a system account, eu2 (an end user of t1/g1), and team A of t1 with
    eu1 as its supervisor and eu2 as an agent, eu1 on the roster's stack with Monday's shift."""
    make_account(api, "root", "system")
    make_account(api, "eu2", "user", "t1", "g1", linked="u2@t1.example")
    created(api.post("/api/v1/tenants/t1/teams/", json={"name": "A"}))
    for username, role in (("eu1", "supervisor"), ("eu2", "agent")):
        body = {"username": username, "role": role}
        created(api.post("/api/v1/tenants/t1/teams/A/members/", json=body), 200)
    roster = {"members": [{"username": "eu1", "shifts": [{"day": "mon", "start": "09:00", "end": "17:00"}]}]}
    created(api.put("/api/v1/tenants/t1/teams/A/roster/", json=roster), 200)
