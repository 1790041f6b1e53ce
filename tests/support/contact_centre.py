"""A contact centre built through the API: teams, campaign templates and campaigns, an agent with a
user key, and lead fields on the templates."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.support.access_world import World, build_world, make_account
from tests.support.factories import created

T1 = "/api/v1/tenants/t1"


def team_campaigns(api: TestClient, global_key: str) -> dict[str, Any]:
    """The access world; teams A and B, an agent in A with a user key, and two campaigns on each of
    the templates TA (team A), TB (team B) and TN (no team)."""
    w = build_world(api, global_key)
    for team in ("A", "B"):
        created(api.post(f"{T1}/teams/", json={"name": team}))
    make_account(api, "agent", "user", "t1", "g1")
    created(api.post(f"{T1}/teams/A/members/", json={"username": "agent"}), 200)
    templates = {}
    for name, team in (("TA", "A"), ("TB", "B"), ("TN", None)):
        templates[name] = created(api.post(f"{T1}/campaign-templates/", json={"name": name, "team": team}))[
            "id"
        ]
    campaigns: dict[str, list[int]] = {}
    for name, template_id in templates.items():
        campaigns[name] = [
            created(api.post(f"{T1}/campaigns/", json={"name": f"{name}-{n}", "templateId": template_id}))[
                "id"
            ]
            for n in range(2)
        ]
    key = created(api.post("/api/v1/accounts/agent/api-keys/", json={"name": "dialler"}))["key"]
    return {
        "world": w,
        "templates": templates,
        "campaigns": campaigns,
        "key": {"Authorization": f"Bearer {key}"},
    }


TEMPLATE = {
    "leadFields": [
        {"name": "firstName", "required": True},
        {"name": "phone", "type": "phone"},
        {"name": "mobile", "type": "phone"},
        {"name": "age", "type": "number"},
        {"name": "email", "type": "email"},
    ],
    "dispositions": [{"name": "Sale", "final": True}, {"name": "Call back"}],
    "contactHours": {"timeZone": "Australia/Melbourne"},
}


def lead_campaigns(api: TestClient, global_key: str) -> dict[str, Any]:
    """team_campaigns with TEMPLATE's lead fields on every template; the agent's campaign TA's first,
    its leads' path and the agent's key."""
    s = team_campaigns(api, global_key)
    for template_id in s["templates"].values():
        created(api.patch(f"{T1}/campaign-templates/{template_id}/", json=TEMPLATE), 200)
    s["campaign"] = s["campaigns"]["TA"][0]
    s["path"] = f"{T1}/campaigns/{s['campaign']}/leads/"
    s["apikey"] = s["key"]["Authorization"].split()[1]
    return s


def agent_campaigns(api: TestClient, world: World) -> dict[str, Any]:
    """Teams A and B with a template and campaign each; agent (extension 102) in team A, with a
    user key."""
    ids: dict[str, Any] = {}
    make_account(api, "agent", "user", "t1", "g1", linked="u2@t1.example")
    for team in ("A", "B"):
        created(api.post(f"{T1}/teams/", json={"name": team}))
        template = created(api.post(f"{T1}/campaign-templates/", json={"name": f"T{team}", "team": team}))
        ids[team] = created(
            api.post(f"{T1}/campaigns/", json={"name": f"C{team}", "templateId": template["id"]})
        )["id"]
    created(api.post(f"{T1}/teams/A/members/", json={"username": "agent"}), 200)
    key = created(api.post("/api/v1/accounts/agent/api-keys/", json={"name": "dialler"}))["key"]
    ids["key"] = {"Authorization": f"Bearer {key}"}  # replaces the client's global key
    return ids
