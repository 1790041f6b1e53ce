"""The roster on the Team Management page: weekly rows and overrides, edited with the CSRF token;
administrators of the tenant only."""

from __future__ import annotations

from starlette.testclient import TestClient

from switchboard.settings import Settings
from tests.support.access_world import build_world
from tests.support.console import csrf_of, signed_in_as
from tests.support.factories import created

T1 = "/api/v1/tenants/t1"
ROSTER = f"{T1}/teams/Sales/roster/"


def test_the_roster_through_the_console(api: TestClient, global_key: str, settings: Settings) -> None:
    build_world(api, global_key)
    created(api.post(f"{T1}/teams/", json={"name": "Sales"}))
    for username in ("eu1", "ga1"):
        created(api.post(f"{T1}/teams/Sales/members/", json={"username": username}), 200)
    with signed_in_as(settings, "ta1") as browser:
        page = browser.get("/console/teams/")
        assert "Roster of Sales" in page.text
        token = csrf_of(page.text)
        # Members listed by name: eu1 is row 0, ga1 row 1.
        form = {"member-0": "eu1", "member-1": "ga1", "position-0": "2", "position-1": "1"}
        form |= {"shifts-0": "mon 09:00-17:00; Tue 09:00-13:00", "shifts-1": ""}
        assert browser.post("/console/teams/Sales/roster?tenant=t1", data=form).status_code == 403  # no CSRF
        saved = browser.post("/console/teams/Sales/roster?tenant=t1", data={**form, "csrf": token})
        assert saved.status_code == 200, saved.text
        roster = api.get(ROSTER).json()
        assert [(m["username"], m["stackPosition"]) for m in roster["members"]] == [("ga1", 1), ("eu1", 2)]
        assert roster["members"][1]["shifts"] == [
            {"day": "mon", "start": "09:00", "end": "17:00"},
            {"day": "tue", "start": "09:00", "end": "13:00"},
        ]
        assert 'value="mon 09:00-17:00, tue 09:00-13:00"' in saved.text  # shown as it was written
        bad = browser.post(
            "/console/teams/Sales/roster?tenant=t1", data={**form, "shifts-0": "mondays", "csrf": token}
        )
        assert bad.status_code == 400
        override = {"username": "eu1", "start": "2026-12-07T09:00", "end": "2026-12-07T12:00"}
        added = browser.post(
            "/console/teams/Sales/roster/overrides?tenant=t1",
            data={**override, "onShift": "false", "note": "dentist", "csrf": token},
        )
        assert added.status_code == 200, added.text
        assert "dentist" in added.text
        (stored,) = api.get(f"{ROSTER}overrides/").json()["overrides"]
        assert (stored["username"], stored["onShift"], stored["start"]) == (
            "eu1",
            False,
            "2026-12-07T09:00:00+00:00",
        )
        removed = browser.post(
            f"/console/teams/Sales/roster/overrides/{stored['id']}/remove?tenant=t1", data={"csrf": token}
        )
        assert removed.status_code == 200
        assert api.get(f"{ROSTER}overrides/").json()["overrides"] == []
    with signed_in_as(settings, "eu1") as browser:
        token = csrf_of(browser.get("/console/").text)
        refused = browser.post(
            "/console/teams/Sales/roster?tenant=t1", data={"member-0": "eu1", "csrf": token}
        )
        assert refused.status_code == 403
        assert api.get(ROSTER).json()["members"][1]["stackPosition"] == 2
