"""Seed 000's promise: a user API key sees the campaigns of its account's teams' templates, no others."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.support.access_world import login, make_account
from tests.support.contact_centre import team_campaigns
from tests.support.factories import created
from tests.support.pages import items_of

T1 = "/api/v1/tenants/t1"


def _ids(api: TestClient, path: str, headers: dict[str, str]) -> set[int]:
    response = api.get(path, headers=headers)
    assert response.status_code == 200, response.text
    return {item["id"] for item in items_of(response.json(), path)}


def test_a_user_key_sees_its_teams_campaigns_and_no_others(api: TestClient, global_key: str) -> None:
    s = team_campaigns(api, global_key)
    key, campaigns, templates = s["key"], s["campaigns"], s["templates"]
    assert _ids(api, f"{T1}/campaigns/", key) == set(campaigns["TA"])
    assert _ids(api, f"{T1}/campaign-templates/", key) == {templates["TA"]}
    missing = api.get(f"{T1}/campaigns/999999/", headers=key)
    for other in campaigns["TB"] + campaigns["TN"]:
        hidden = api.get(f"{T1}/campaigns/{other}/", headers=key)
        assert hidden.status_code == 404
        assert hidden.content == missing.content
    assert api.get(f"{T1}/campaigns/{campaigns['TA'][0]}/", headers=key).status_code == 200
    # The global key sees everything; the tenant admin too, team-less templates included.
    assert _ids(api, f"{T1}/campaigns/", {"Authorization": f"Bearer {global_key}"}) == {
        c for ids in campaigns.values() for c in ids
    }
    assert _ids(api, f"{T1}/campaigns/", s["world"].headers["tenant_admin"]) == {
        c for ids in campaigns.values() for c in ids
    }
    # Filter by template, within what is visible.
    assert _ids(api, f"{T1}/campaigns/?templateId={templates['TB']}", key) == set()


def test_membership_and_template_team_changes_apply_on_the_next_request(
    api: TestClient, global_key: str
) -> None:
    s = team_campaigns(api, global_key)
    key, campaigns, templates = s["key"], s["campaigns"], s["templates"]
    assert api.post(f"{T1}/teams/B/members/", json={"username": "agent"}).status_code == 200
    assert _ids(api, f"{T1}/campaigns/", key) == set(campaigns["TA"] + campaigns["TB"])
    assert api.delete(f"{T1}/teams/A/members/agent/").status_code == 204
    assert _ids(api, f"{T1}/campaigns/", key) == set(campaigns["TB"])
    assert api.patch(f"{T1}/campaign-templates/{templates['TB']}/", json={"team": None}).status_code == 200
    assert _ids(api, f"{T1}/campaigns/", key) == set()
    # The tenant opens team-less templates to everyone.
    assert api.patch(f"{T1}/", json={"teamlessTemplatesVisibleTo": "everyone"}).status_code == 200
    assert _ids(api, f"{T1}/campaigns/", key) == set(campaigns["TB"] + campaigns["TN"])


def test_another_tenants_credentials_see_nothing(api: TestClient, global_key: str) -> None:
    s = team_campaigns(api, global_key)
    make_account(api, "spy", "user", "t2", "g1")
    spy_key = created(api.post("/api/v1/accounts/spy/api-keys/", json={"name": "k"}))["key"]
    spy = {"Authorization": f"Bearer {spy_key}"}
    missing = api.get("/api/v1/tenants/nope/campaigns/", headers=spy)
    for path in (
        f"{T1}/campaigns/",
        f"{T1}/campaign-templates/",
        f"{T1}/campaigns/{s['campaigns']['TA'][0]}/",
    ):
        response = api.get(path, headers=spy)
        assert response.status_code == 404, path
        assert response.content == missing.content
    ta2 = {"Authorization": f"Bearer {login(api, 'ta2')}"}
    assert api.get(f"{T1}/campaigns/", headers=ta2).status_code == 404


def test_who_may_change_teams_templates_and_campaigns(api: TestClient, global_key: str) -> None:
    s = team_campaigns(api, global_key)
    w = s["world"]
    for who in ("group_admin", "user"):
        headers = w.headers[who]
        assert api.post(f"{T1}/teams/", json={"name": f"X-{who}"}, headers=headers).status_code in (403, 404)
        assert (
            api.post(f"{T1}/campaign-templates/", json={"name": f"X-{who}"}, headers=headers).status_code
            == 403
        )
    assert (
        api.post(
            f"{T1}/campaigns/", json={"name": "X", "templateId": s["templates"]["TA"]}, headers=s["key"]
        ).status_code
        == 403
    )
    assert api.post(f"{T1}/campaign-templates/", json={"name": "Y", "team": "nope"}).status_code == 400
    assert api.post(f"{T1}/campaigns/", json={"name": "Y", "templateId": 999999}).status_code == 400
    assert api.post(f"{T1}/campaign-templates/", json={"name": "TA"}).status_code == 409
    assert (
        api.post(f"{T1}/teams/A/members/", json={"username": "ta2"}).status_code == 400
    )  # other tenant's account
    assert api.get(f"{T1}/teams/", headers=s["key"]).status_code == 403  # teams are administration
