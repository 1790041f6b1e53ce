"""The world Noojee's Java client calls into, built through the API: tenant t1 with extensions 450
(agent450's, who has a user key), 451 and 452, tenant t2 with its own 451 (one extension in two
tenants), team "Night Shift" with agent450 on shift, and a campaign with a lead and a call record."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.testclient import TestClient

from tests.support.access_world import make_account
from tests.support.calls import CM
from tests.support.contact_centre import TEMPLATE
from tests.support.factories import created, make_domain, make_group, make_tenant, make_user

T1 = "/api/v1/tenants/t1"
TEAM = "Night Shift"
AGENT = "agent450"


@dataclass
class ReplayWorld:
    """Keys by credential kind ("global", "user"; "tenant" once made) and the campaign's ids."""

    keys: dict[str, str]
    template_id: int
    campaign_id: int
    extra: dict[str, Any] = field(default_factory=dict)


def build_replay_world(api: TestClient, global_key: str) -> ReplayWorld:
    for tenant in ("t1", "t2"):
        make_tenant(api, tenant)
        make_domain(api, tenant, f"{tenant}.example")
        make_group(api, tenant, "g1")
    for extension in ("450", "451", "452"):
        make_user(api, "t1", "g1", f"u{extension}@t1.example", extension=extension)
    make_user(api, "t2", "g1", "u451@t2.example", extension="451")
    make_account(api, AGENT, "user", "t1", "g1", linked="u450@t1.example")
    user_key = created(api.post(f"/api/v1/accounts/{AGENT}/api-keys/", json={"name": "replay"}))["key"]
    created(api.post(f"{T1}/teams/", json={"name": TEAM}))
    created(api.post(f"{T1}/teams/{TEAM}/members/", json={"username": AGENT}), 200)
    template = created(api.post(f"{T1}/campaign-templates/", json={"name": "Replay", "team": TEAM}))["id"]
    created(api.patch(f"{T1}/campaign-templates/{template}/", json=TEMPLATE), 200)
    campaign = created(api.post(f"{T1}/campaigns/", json={"name": "Replay-1", "templateId": template}))["id"]
    # An unnamed lead goes to the campaign's default allocation.
    inserted = api.post(
        "/servicemanager/rest/CampaignAPI/insertLeadFast",
        params={"fTemplateId": template, "fCampaignId": campaign},
        json=[{"firstName": "Jane", "phone": "0390000001", "njExternalLeadId": "crm-1"}],
    )
    assert inserted.status_code == 200, inserted.text
    assert inserted.json()["entities"][0]["Code"] == 0, inserted.text
    # A call record of the campaign, with a recording.
    dialled = api.post(
        f"{CM}/dial",
        params={"extenOrUniqueId": "452", "number": "0390000001", "campaignId": campaign, "tenantId": "t1"},
    )
    assert dialled.status_code == 200, dialled.text
    unique_id = dialled.json()["SessionID"]
    created(api.post(f"/api/v1/simulator/calls/{unique_id}/answer/"), 200)
    created(api.post(f"/api/v1/calls/{unique_id}/recording/start/", json={}), 200)
    created(api.post(f"/api/v1/calls/{unique_id}/hangup/"), 200)
    return ReplayWorld({"global": global_key, "user": user_key}, template, campaign)


def tenant_key(api: TestClient, tenant_id: str) -> str:
    """A tenant key (issue 18): the tenant's Noojee "global key"."""
    key: str = created(api.post(f"/api/v1/tenants/{tenant_id}/tenant-keys/", json={"name": "replay"}))["key"]
    return key


def put_on_shift(api: TestClient, team: str, username: str) -> None:
    """A one-off roster override putting `username` on shift in `team` around now.

    The roster API is being built alongside these tests: this is the one place to align with it.
    """
    now = datetime.now(UTC)
    body = {
        "username": username,
        "start": (now - timedelta(hours=1)).isoformat(timespec="seconds"),
        "end": (now + timedelta(hours=1)).isoformat(timespec="seconds"),
    }
    created(api.post(f"{T1}/teams/{team}/roster/overrides/", json=body))


def hang_up_everything(api: TestClient) -> None:
    """Ends every live call (native API), and waits until the list says so."""
    deadline = time.monotonic() + 5
    while live := api.get("/api/v1/calls/", params={"state": "live"}).json()["calls"]:
        for call in live:
            api.post(f"/api/v1/calls/{call['uniqueId']}/hangup/")
        assert time.monotonic() < deadline, live
        time.sleep(0.01)


def inject_ringing(api: TestClient, extension: str = "450", tenant: str = "t1") -> str:
    """An inbound call ringing on `extension` (the simulated PBX of a client whose calls do not
    answer by themselves)."""
    body = {"to": extension, "from": "0390009999", "tenantId": tenant}
    unique_id: str = created(api.post("/api/v1/simulator/calls/", json=body))["uniqueId"]
    return unique_id


def connected_call(api: TestClient, extension: str = "450") -> str:
    unique_id = inject_ringing(api, extension)
    assert created(api.post(f"/api/v1/simulator/calls/{unique_id}/answer/"), 200)["state"] == "Connected"
    return unique_id


def recording_call(api: TestClient, extension: str = "450") -> str:
    unique_id = connected_call(api, extension)
    body = {"agentLoginName": AGENT}
    created(api.post(f"/api/v1/calls/{unique_id}/recording/start/", json=body), 200)
    return unique_id


def recording_state(api: TestClient, unique_id: str) -> str:
    items = api.get("/api/v1/recordings/", params={"uniqueId": unique_id}).json()["recordings"]
    assert items, f"no recording of {unique_id}"
    state: str = items[0]["state"]
    return state
