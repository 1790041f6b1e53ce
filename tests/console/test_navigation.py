"""The console's navigation per role: it offers exactly the pages that open for the signed-in
account (every link shown answers 200, every page not shown 403), and the Team Management page
shows a team's supervisor its teams without offering forms only administrators may submit."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from switchboard.console.nav import SECTIONS
from switchboard.settings import Settings
from tests.support.access_world import add_resellers, build_world, make_account
from tests.support.console import ROLE_ACCOUNTS, csrf_of, signed_in_as, with_team_supervisor
from tests.support.factories import created

NAV = re.compile(r'<nav aria-label="Console"[^>]*>(.*?)</nav>', re.S)
LINK = re.compile(r'<a href="([^"]+)"[^>]*>([^<]+)</a>')
MEMBERS = ["Users | Accounts", "Team Management", "Campaign templates", "Campaigns", "Directory"]
EXPECTED = {
    "system": [*MEMBERS, "Live calls", "Audit log", "Settings", "Tenant keys"],
    # The directory and accounts of its reseller's tenants (and their tenant keys); no campaigns,
    # calls or audit (the API answers those 403).
    "reseller_admin": ["Users | Accounts", "Team Management", "Directory", "Tenant keys"],
    "tenant_admin": [*MEMBERS, "Live calls", "Audit log", "Tenant keys"],
    "group_admin": [*MEMBERS, "Live calls"],
    "supervisor": [*MEMBERS, "Live calls"],
    "agent": [*MEMBERS, "Live calls"],
}


def nav_links(page: str) -> dict[str, str]:
    found = NAV.search(page)
    assert found, page[:1000]
    return {label.replace("&amp;", "&"): path for path, label in LINK.findall(found.group(1))}


def test_the_navigation_offers_what_each_role_may_open(
    api: TestClient, global_key: str, settings: Settings
) -> None:
    world = build_world(api, global_key)
    add_resellers(api, world)
    with_team_supervisor(api)
    for role, username in ROLE_ACCOUNTS.items():
        with signed_in_as(settings, username) as browser:
            links = nav_links(browser.get("/console/").text)
            assert list(links) == EXPECTED[role], role
            for section in SECTIONS:
                answer = browser.get(section.path)
                if section.label in links:
                    assert links[section.label] == section.path
                    assert answer.status_code == 200, (role, section.path, answer.text[-500:])
                    # The page's own navigation is the same, its section marked as the current one.
                    assert nav_links(answer.text) == links
                    if answer.url.path == section.path:
                        assert f'href="{section.path}" aria-current="page"' in answer.text, section.path
                else:
                    assert answer.status_code == 403, (role, section.path, answer.status_code)


def test_a_supervisor_sees_its_teams_and_no_form_it_may_not_submit(
    api: TestClient, global_key: str, settings: Settings
) -> None:
    build_world(api, global_key)
    with_team_supervisor(api)
    with signed_in_as(settings, "eu1") as browser:
        page = browser.get("/console/teams/")
        assert page.status_code == 200
        assert "No teams yet." not in page.text
        assert '<h2 id="team-' in page.text
        assert ">A</h2>" in page.text
        assert "<td>eu1</td><td>supervisor</td>" in page.text
        assert "<td>eu2</td><td>agent</td>" in page.text
        assert "mon 09:00-17:00" in page.text  # the roster, read only
        # No form it would be refused: creating teams, adding or removing members, the roster.
        assert '<form method="post" action="/console/teams/' not in page.text
        for offered in ("Create team", "Add member", "Save roster", "Add override", "Remove"):
            assert offered not in page.text, offered
        # Submitting one anyway is refused, as the API refuses it.
        token = csrf_of(page.text)
        refused = browser.post("/console/teams/?tenant=t1", data={"name": "Mine", "csrf": token})
        assert refused.status_code == 403
    with signed_in_as(settings, "ga1") as browser:  # in no team
        page = browser.get("/console/teams/")
        assert "You are in no team of this tenant." in page.text
        assert "Create team" not in page.text
    with signed_in_as(settings, "ta1") as browser:  # the tenant's administrator: every form
        page = browser.get("/console/teams/")
        for offered in ("Create team", "Add member", "Save roster", "Add override", "Remove"):
            assert offered in page.text, offered


def test_the_template_details_form_is_for_those_who_may_change_it(
    api: TestClient, global_key: str, settings: Settings
) -> None:
    build_world(api, global_key)
    with_team_supervisor(api)
    template = api.post("/api/v1/tenants/t1/campaign-templates/", json={"name": "TA", "team": "A"}).json()
    path = f"/console/templates/{template['id']}/?tenant=t1"
    with signed_in_as(settings, "eu1") as browser:
        page = browser.get(path)
        assert page.status_code == 200
        assert "/details?" not in page.text
        assert ">Save</button>" not in page.text
        assert "<dt>Team</dt><dd>A</dd>" in page.text
    with signed_in_as(settings, "ta1") as browser:
        assert "/details?" in browser.get(path).text


def test_api_key_forms_are_for_those_who_may_use_them(
    api: TestClient, global_key: str, settings: Settings
) -> None:
    """ga1 manages eu1 (its group's end user) but not the campaigns of eu1's team: it sees and
    revokes eu1's keys, and is not offered to make or change one (the API refuses it); another
    group admin of its group is not its to manage at all: no Security tab."""
    build_world(api, global_key)
    with_team_supervisor(api)
    make_account(api, "ga1b", "group_admin", "t1", "g1")
    created(api.post("/api/v1/accounts/eu1/api-keys/", json={"name": "crm"}))
    with signed_in_as(settings, "ga1") as browser:
        token = csrf_of(browser.get("/console/accounts/").text)
        browser.post("/console/preferences/mode", data={"mode": "advanced", "csrf": token})
        security = browser.get("/console/accounts/eu1/?tab=security").text
        assert "crm" in security
        assert "Revoke crm" in security
        assert "Create API Key" not in security
        assert "Edit crm" not in security
        refused = browser.post(
            "/console/accounts/eu1/api-keys", data={"name": "mine", "scope_campaigns": "on", "csrf": token}
        )
        assert refused.status_code == 403
        other = browser.get("/console/accounts/ga1b/?tab=security").text
        assert ">Security</a>" not in other
        assert "Create API Key" not in other
        own = browser.get("/console/accounts/ga1/?tab=security").text
        assert "Create API Key" in own
