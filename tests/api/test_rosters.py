"""Rosters: weekly shifts in the tenant's time zone, overrides, stack order; the native API and
Noojee's getActiveRosters, with the team visibility of seed 000 for every kind of key."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.testclient import TestClient

from switchboard.contact_centre import rosters
from switchboard.directory.models import Tenant
from tests.support.access_world import World, build_world, make_account
from tests.support.factories import created, make_user

T1 = "/api/v1/tenants/t1"
ROSTER = f"{T1}/teams/Sales Team/roster"
ACTIVE = "/servicemanager/rest/rosterApi/getActiveRosters"
# Monday 10:30 in Melbourne (UTC+11 in December) is still Sunday in UTC.
MONDAY_1030_MELBOURNE = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)
WEEKLY = {
    "members": [
        {
            "username": "ag9",
            "shifts": [{"day": day, "start": "09:00", "end": "17:00"} for day in ("mon", "tue")],
        },
        {"username": "eu1", "shifts": [{"day": "mon", "start": "08:00", "end": "12:00"}]},
        {"username": "ga1", "shifts": [{"day": "sat", "start": "10:00", "end": "14:00"}]},
    ]
}


@pytest.fixture
def world(api: TestClient, global_key: str, monkeypatch: pytest.MonkeyPatch) -> World:
    """t1's team "Sales Team" (ag9 with every number, eu1 linked to u1, ga1 unlinked) on a fixed
    clock in Melbourne; t2 has a team of its own, "Other", and its own "Sales Team"."""
    monkeypatch.setattr(rosters, "current_time", lambda: MONDAY_1030_MELBOURNE)
    world = build_world(api, global_key)
    assert api.patch("/api/v1/tenants/t1/", json={"timeZone": "Australia/Melbourne"}).status_code == 200
    make_user(
        api,
        "t1",
        "g1",
        "u9@t1.example",
        extension="109",
        phoneNumber="+61390000009",
        mobilePhoneNumber="+61400000009",
        emailAddress="u9@t1.example",
    )
    make_account(api, "ag9", "user", "t1", "g1", linked="u9@t1.example")
    created(api.post(f"{T1}/teams/", json={"name": "Sales Team"}))
    for username in ("eu1", "ag9", "ga1"):
        created(api.post(f"{T1}/teams/Sales Team/members/", json={"username": username}), 200)
    for name in ("Other", "Sales Team"):
        created(api.post("/api/v1/tenants/t2/teams/", json={"name": name}))
    created(api.post("/api/v1/tenants/t2/teams/Other/members/", json={"username": "ta2"}), 200)
    return world


def _tenant_id(tenant: Tenant) -> str:
    return tenant.tenant_id


def active(api: TestClient, query: str, headers: dict[str, str] | None = None) -> Any:
    return api.post(f"{ACTIVE}?{query}", headers=headers or {})


def logins(response: Any) -> list[tuple[str, int]]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["code"], body["message"]) == (0, "OK")
    assert isinstance(body["type"], str)
    return [(entity["login"], entity["statckPostion"]) for entity in body["entities"]]


def test_weekly_shifts_in_the_tenant_time_zone_in_stack_order(api: TestClient, world: World) -> None:
    roster = api.put(f"{ROSTER}/", json=WEEKLY)
    assert roster.status_code == 200, roster.text
    body = roster.json()
    assert body["timeZone"] == "Australia/Melbourne"
    assert [(m["username"], m["stackPosition"]) for m in body["members"]] == [
        ("ag9", 1),
        ("eu1", 2),
        ("ga1", 3),
    ]
    assert body["members"][2]["shifts"] == [{"day": "sat", "start": "10:00", "end": "14:00"}]
    assert api.get(f"{ROSTER}/").json() == body
    # Monday 10:30 in Melbourne: ag9 and eu1 (in UTC it is Sunday, when nobody works).
    reply = active(api, "teamName=Sales Team&tenantId=t1")
    assert logins(reply) == [("ag9", 1), ("eu1", 2)]
    ag9 = reply.json()["entities"][0]
    assert {k: ag9[k] for k in ("extension", "phoneNumber", "mobileNumber", "email")} == {
        "extension": "109",
        "phoneNumber": "+61390000009",
        "mobileNumber": "+61400000009",
        "email": "u9@t1.example",
    }
    assert isinstance(ag9["id"], int)
    # The stack order is the roster's: reversed, so is the answer.
    api.put(f"{ROSTER}/", json={"members": list(reversed(WEEKLY["members"]))})
    assert logins(active(api, "teamName=Sales Team&tenantId=t1")) == [("eu1", 2), ("ag9", 3)]
    # The native view at another moment: Saturday 11:00 in Melbourne is ga1's (no offset: local).
    on_shift = api.get(f"{ROSTER}/on-shift/", params={"at": "2026-12-12T11:00:00"})
    assert on_shift.status_code == 200, on_shift.text
    assert [(m["username"], m["stackPosition"]) for m in on_shift.json()["members"]] == [("ga1", 1)]
    # 12:00 ends eu1's shift: the end is not part of it.
    at_noon = api.get(f"{ROSTER}/on-shift/", params={"at": "2026-12-07T12:00:00+11:00"})
    assert [m["username"] for m in at_noon.json()["members"]] == ["ag9"]


def test_overrides_win_over_the_weekly_pattern(api: TestClient, world: World) -> None:
    api.put(f"{ROSTER}/", json=WEEKLY)
    off = created(
        api.post(
            f"{ROSTER}/overrides/",
            json={
                "username": "eu1",
                "start": "2026-12-07T10:00:00",
                "end": "2026-12-07T11:00:00",
                "onShift": False,
            },
        )
    )
    assert off["start"] == "2026-12-07T10:00:00+11:00"  # in the tenant's zone, as given
    on = created(
        api.post(
            f"{ROSTER}/overrides/",
            json={
                "username": "ga1",
                "start": "2026-12-06T23:00:00Z",
                "end": "2026-12-07T00:00:00Z",
                "note": "covering",
            },
        )
    )
    assert logins(active(api, "teamName=Sales Team&tenantId=t1")) == [("ag9", 1), ("ga1", 3)]
    listed = api.get(f"{ROSTER}/overrides/").json()["overrides"]
    assert [(o["username"], o["onShift"], o["note"]) for o in listed] == [  # by start, then made
        ("eu1", False, ""),
        ("ga1", True, "covering"),
    ]
    # The latest override wins over an earlier one for the same moment.
    created(
        api.post(
            f"{ROSTER}/overrides/",
            json={"username": "eu1", "start": "2026-12-07T10:15:00", "end": "2026-12-07T10:45:00"},
        )
    )
    assert logins(active(api, "teamName=Sales Team&tenantId=t1")) == [("ag9", 1), ("eu1", 2), ("ga1", 3)]
    assert api.delete(f"{ROSTER}/overrides/{on['id']}/").status_code == 204
    assert api.delete(f"{ROSTER}/overrides/{on['id']}/").status_code == 404
    assert logins(active(api, "teamName=Sales Team&tenantId=t1")) == [("ag9", 1), ("eu1", 2)]
    # Leaving the team takes its shifts and overrides with it.
    assert api.delete(f"{T1}/teams/Sales Team/members/eu1/").status_code == 204
    assert [o["username"] for o in api.get(f"{ROSTER}/overrides/").json()["overrides"]] == []
    assert logins(active(api, "teamName=Sales Team&tenantId=t1")) == [("ag9", 1)]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"members": [{"username": "ta1", "shifts": []}]}, "members[0].username"),
        ({"members": [{"username": "eu1"}, {"username": "EU1"}]}, "members[1].username"),
        (
            {"members": [{"username": "eu1", "shifts": [{"day": "mon", "start": "17:00", "end": "09:00"}]}]},
            None,
        ),
        (
            {"members": [{"username": "eu1", "shifts": [{"day": "mon", "start": "24:30", "end": "25:00"}]}]},
            None,
        ),
    ],
)
def test_bad_rosters_are_refused_with_the_field(
    api: TestClient, world: World, body: dict[str, Any], field: str | None
) -> None:
    response = api.put(f"{ROSTER}/", json=body)
    assert response.status_code == 400, response.text
    if field:
        assert field in response.text


def test_bad_overrides_are_refused(api: TestClient, world: World) -> None:
    backwards = {"username": "eu1", "start": "2026-12-07T11:00:00", "end": "2026-12-07T10:00:00"}
    assert api.post(f"{ROSTER}/overrides/", json=backwards).status_code == 400
    stranger = {"username": "ta1", "start": "2026-12-07T10:00:00", "end": "2026-12-07T11:00:00"}
    assert api.post(f"{ROSTER}/overrides/", json=stranger).status_code == 400


def test_visibility_per_kind_of_key(api: TestClient, world: World) -> None:
    """As getCampaignList: a user sees the teams it is in; administrators and the global key their
    scope; another tenant's team answers exactly as a missing one."""
    api.put(f"{ROSTER}/", json=WEEKLY)
    h = world.headers
    missing = active(api, "teamName=No Such Team", h["user_key"])
    assert missing.status_code == 404
    for principal, team in (
        ("user_key", "Other"),  # the t1 tenant admin's key: t2's team is invisible
        ("tenant_admin", "Other"),
        ("user", "Other"),
        ("group_admin", "Other"),
    ):
        refused = active(api, f"teamName={team}", h[principal])
        assert (refused.status_code, refused.content) == (404, missing.content), principal
    # eu1 is in Sales Team; ga1 is too; a user outside it sees nothing of it.
    assert logins(active(api, "teamName=Sales Team", h["user"])) == [("ag9", 1), ("eu1", 2)]
    assert logins(active(api, "teamName=sales team", h["user_key"])) == [("ag9", 1), ("eu1", 2)]
    assert logins(active(api, "teamName=Sales Team", h["tenant_admin"])) == [("ag9", 1), ("eu1", 2)]
    make_account(api, "loner", "user", "t1", "g1")
    loner_key = created(api.post("/api/v1/accounts/loner/api-keys/", json={"name": "k"}))["key"]
    outsider = active(api, "teamName=Sales Team", {"Authorization": f"Bearer {loner_key}"})
    assert (outsider.status_code, outsider.content) == (404, missing.content)
    # The global key sees both tenants' "Sales Team": it names the tenant, or is told to.
    ambiguous = active(api, "teamName=Sales Team")
    assert ambiguous.status_code == 400
    assert "tenantId" in ambiguous.json()["Message"]
    assert logins(active(api, "teamName=Sales Team&tenantId=t2")) == []
    assert active(api, "teamName=Other").status_code == 200
    # The native roster is the team's: administrators read and edit it; others see it as missing.
    assert api.get(f"{ROSTER}/", headers=h["tenant_admin"]).status_code == 200
    assert api.get(f"{ROSTER}/", headers=h["user"]).status_code == 404
    assert api.put(f"{ROSTER}/", json=WEEKLY, headers=h["user"]).status_code == 403
    assert api.get("/api/v1/tenants/t2/teams/Other/roster/", headers=h["tenant_admin"]).status_code == 404
    # Who is on shift, natively, follows the Noojee rule: the team's members may ask.
    assert api.get(f"{ROSTER}/on-shift/", headers=h["user"]).status_code == 200


def test_team_name_as_sent_unencoded(api: TestClient, world: World) -> None:
    """Noojee's client puts the name in the query string as it is: a raw space, or '+'."""
    api.put(f"{ROSTER}/", json=WEEKLY)
    expected = [("ag9", 1), ("eu1", 2)]
    assert logins(active(api, "teamName=Sales+Team&tenantId=t1")) == expected
    assert logins(active(api, "teamName=Sales%20Team&tenantId=t1")) == expected
    assert active(api, "tenantId=t1").status_code == 400  # teamName is required
