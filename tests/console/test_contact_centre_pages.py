"""Team Management and template pages: administrators of the tenant act, others are refused,
another tenant's objects read as missing."""

from __future__ import annotations

from starlette.testclient import TestClient

from switchboard.settings import Settings
from tests.support.access_world import add_resellers, build_world
from tests.support.console import csrf_of, signed_in_as
from tests.support.factories import created

T1 = "/api/v1/tenants/t1"


def members(api: TestClient) -> list[str]:
    (sales,) = [team for team in api.get(f"{T1}/teams/").json()["teams"] if team["name"] == "Sales"]
    return [member["username"] for member in sales["members"]]


def test_team_management_through_the_console(api: TestClient, global_key: str, settings: Settings) -> None:
    build_world(api, global_key)
    created(api.post(f"{T1}/teams/", json={"name": "Sales"}))
    with signed_in_as(settings, "ta1") as browser:
        page = browser.get("/console/teams/")
        assert "Sales" in page.text
        token = csrf_of(page.text)
        assert (
            browser.post("/console/teams/Sales/members?tenant=t1", data={"username": "eu1"}).status_code
            == 403
        )
        added = browser.post(
            "/console/teams/Sales/members?tenant=t1", data={"username": "eu1", "csrf": token}
        )
        assert added.status_code == 200  # back on the page (after the redirect)
        assert members(api) == ["eu1"]
        unknown = browser.post(
            "/console/teams/Sales/members?tenant=t1", data={"username": "ta2", "csrf": token}
        )
        assert unknown.status_code == 400  # not an account of this tenant
        removed = browser.post("/console/teams/Sales/members/eu1/remove?tenant=t1", data={"csrf": token})
        assert removed.status_code == 200
        assert members(api) == []
        made = browser.post("/console/teams/?tenant=t1", data={"name": "Support", "csrf": token})
        assert made.status_code == 200
        assert "Support" in made.text
        # Another tenant's teams: the same page as a tenant that does not exist.
        assert (
            browser.get("/console/teams/?tenant=t2").text == browser.get("/console/teams/?tenant=nope").text
        )
    with signed_in_as(settings, "eu1") as browser:
        token = csrf_of(browser.get("/console/").text)
        refused = browser.post(
            "/console/teams/Sales/members?tenant=t1", data={"username": "eu1", "csrf": token}
        )
        assert refused.status_code == 403
        assert members(api) == []


def test_the_details_tab_sets_the_team(api: TestClient, global_key: str, settings: Settings) -> None:
    build_world(api, global_key)
    created(api.post(f"{T1}/teams/", json={"name": "Sales"}))
    template = created(api.post(f"{T1}/campaign-templates/", json={"name": "Outbound"}))["id"]
    with signed_in_as(settings, "ta1") as browser:
        page = browser.get(f"/console/templates/{template}/")
        assert '<label for="template-team">Team</label>' in page.text
        token = csrf_of(page.text)
        saved = browser.post(
            f"/console/templates/{template}/details?tenant=t1",
            data={"name": "Outbound", "team": "Sales", "csrf": token},
        )
        assert saved.status_code == 200
        assert api.get(f"{T1}/campaign-templates/{template}/").json()["team"] == "Sales"
        nope = browser.post(
            f"/console/templates/{template}/details?tenant=t1",
            data={"name": "Outbound", "team": "Nope", "csrf": token},
        )
        assert nope.status_code in (400, 404)
        assert api.get(f"{T1}/campaign-templates/{template}/").json()["team"] == "Sales"
    with signed_in_as(settings, "ta2") as browser:
        hidden = browser.get(f"/console/templates/{template}/?tenant=t1")
        missing = browser.get("/console/templates/999999/?tenant=nope")
        assert hidden.status_code == missing.status_code == 404
        assert hidden.text == missing.text


def test_a_reseller_admin_gets_the_console_pages_the_api_gives_it(
    api: TestClient, global_key: str, settings: Settings
) -> None:
    # The API keeps campaign templates and campaigns with each tenant's own administrators and
    # lets a reseller admin manage teams (accounts): the console's pages are views of the same
    # rule, not a side door around it.
    world = build_world(api, global_key)
    add_resellers(api, world)
    created(api.post(f"{T1}/teams/", json={"name": "Sales"}))
    reseller_admin = world.headers["reseller_admin"]
    assert api.get(f"{T1}/campaign-templates/", headers=reseller_admin).status_code == 403
    assert api.get(f"{T1}/teams/", headers=reseller_admin).status_code == 200
    with signed_in_as(settings, "ra1") as browser:
        for path in ("/console/campaigns/?tenant=t1", "/console/templates/?tenant=t1"):
            answer = browser.get(path)
            assert answer.status_code == 403, (path, answer.status_code)
        teams = browser.get("/console/teams/?tenant=t1")
        assert teams.status_code == 200
        assert "Sales" in teams.text
