"""Who acts on a call: its agent and the tenant's administrators, not the team-mates who see it."""

from __future__ import annotations

from starlette.testclient import TestClient

from switchboard.settings import Settings
from tests.support.access_world import World, add_campaign_team, build_world
from tests.support.calls import dial, noojee
from tests.support.clients import make_client
from tests.support.console import csrf_of, sign_in


def _campaign_call(api: TestClient, world: World, headers: dict[str, str] | None = None) -> str:
    """A call dialled for campaign cTA on eu2's extension: eu1 sees it as a team-mate."""
    campaign = world.ids["campaign"]
    return dial(api, headers, extenOrUniqueId="102", number="0390001234", tenantId="t1", campaignId=campaign)


def _world(api: TestClient, global_key: str) -> tuple[World, str]:
    world = build_world(api, global_key)
    add_campaign_team(api, world)
    return world, _campaign_call(api, world)


def test_a_team_mate_sees_another_agents_call_but_may_not_record_or_hang_it_up(
    api: TestClient, global_key: str
) -> None:
    world, call = _world(api, global_key)
    mate, agent = world.headers["user"], world.headers["agent2"]
    assert api.get(f"/api/v1/calls/{call}/", headers=mate).status_code == 200
    refusals = [
        noojee(api, "start", mate, extenOrUniqueId=call),
        noojee(api, "hangup", mate, extenOrUniqueId=call),
        noojee(api, "answer", mate, uniqueId=call),
        api.post(f"/api/v1/calls/{call}/recording/start/", headers=mate),
        api.post(f"/api/v1/calls/{call}/hangup/", headers=mate),
        api.post(f"/api/v1/calls/{call}/answer/", headers=mate),
    ]
    for refused in refusals:
        assert refused.status_code == 403, refused.text
        assert "its agent" in refused.text
    assert api.get(f"/api/v1/calls/{call}/", headers=agent).json()["state"] == "Connected"
    # The agent records its call; the team-mate cannot stop (or pause) that recording either.
    assert noojee(api, "start", agent, extenOrUniqueId=call).status_code == 200
    assert noojee(api, "stop", mate, extenOrUniqueId=call).status_code == 403
    assert api.post(f"/api/v1/calls/{call}/recording/pause/", headers=mate).status_code == 403
    assert noojee(api, "stop", agent, extenOrUniqueId=call).status_code == 200


def test_the_agent_controls_every_recording_of_its_call_and_admins_every_call(
    api: TestClient, global_key: str
) -> None:
    world, call = _world(api, global_key)
    agent = world.headers["agent2"]
    # An administrator records it for another account; the call's agent may still stop it.
    started = noojee(api, "start", world.headers["tenant_admin"], extenOrUniqueId=call, agentLoginName="eu1")
    assert started.status_code == 200, started.text
    assert noojee(api, "stop", agent, extenOrUniqueId=call).status_code == 200
    for admin in ("tenant_admin", "tenant_key", "user_key"):  # the user key is ta1's
        assert noojee(api, "start", world.headers[admin], extenOrUniqueId=call).status_code == 200
        assert noojee(api, "stop", world.headers[admin], extenOrUniqueId=call).status_code == 200
    assert noojee(api, "hangup", agent, extenOrUniqueId=call).status_code == 200


def test_the_console_offers_and_performs_only_what_the_policy_allows(
    api: TestClient, global_key: str, settings: Settings
) -> None:
    world = build_world(api, global_key)
    add_campaign_team(api, world)
    with make_client(settings) as browser:  # its own simulated PBX: the call is dialled there
        call = _campaign_call(browser, world, {"Authorization": f"Bearer {global_key}"})
        assert sign_in(browser, "eu1")[0] == 303
        page = browser.get("/console/calls/")
        assert call in page.text
        assert f"/console/calls/{call}/hangup" not in page.text
        assert f"/console/calls/{call}/recording/start" not in page.text
        token = csrf_of(page.text)
        for path in (f"/console/calls/{call}/recording/start", f"/console/calls/{call}/hangup"):
            refused = browser.post(path, data={"csrf": token}, follow_redirects=False)
            assert refused.status_code == 403, refused.text
        browser.cookies.clear()
        assert sign_in(browser, "eu2")[0] == 303
        page = browser.get("/console/calls/")
        assert f"/console/calls/{call}/hangup" in page.text
        assert f"/console/calls/{call}/recording/start" in page.text
        started = browser.post(
            f"/console/calls/{call}/recording/start",
            data={"csrf": csrf_of(page.text)},
            follow_redirects=False,
        )
        assert started.status_code == 303, started.text
