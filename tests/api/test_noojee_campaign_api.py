"""Noojee CampaignAPI: POST only, the envelope, apiKey in query/form/headers, team scoping (seed 000)."""

from __future__ import annotations

from starlette.testclient import TestClient

from switchboard.settings import Settings
from tests.support.clients import make_client
from tests.support.contact_centre import T1, team_campaigns
from tests.support.factories import created

N = "/servicemanager/rest/CampaignAPI"


def test_a_user_key_lists_exactly_its_teams_campaigns(
    anonymous: TestClient, api: TestClient, global_key: str
) -> None:
    s = team_campaigns(api, global_key)
    key = s["key"]["Authorization"].split()[1]
    # apiKey in the query string, as in seed 000's example call.
    answer = anonymous.post(f"{N}/getCampaignList?apiKey={key}")
    assert answer.status_code == 200
    body = answer.json()
    assert body["Code"] == 0
    assert body["Message"] == "OK"
    assert {e["id"] for e in body["entities"]} == set(s["campaigns"]["TA"])
    assert all({"id", "name"} <= set(e) for e in body["entities"])
    # ...as a form field, and in the headers: the same answer.
    form = anonymous.post(f"{N}/getCampaignList", data={"apiKey": key})
    assert form.json() == body
    assert anonymous.post(f"{N}/getCampaignList", headers={"X-API-Key": key}).json() == body
    templates = anonymous.post(f"{N}/getCampaignTemplateList", data={"apiKey": key}).json()
    assert [(t["id"], t["team"]) for t in templates["entities"]] == [(s["templates"]["TA"], "A")]
    # fTemplateId filters within what the key may see.
    other = anonymous.post(f"{N}/getCampaignList?apiKey={key}&fTemplateId={s['templates']['TB']}").json()
    assert other["entities"] == []
    every = anonymous.post(f"{N}/getCampaignList", headers={"Authorization": f"Bearer {global_key}"}).json()
    assert len(every["entities"]) == 6


def test_post_only_and_errors_in_the_envelope(
    anonymous: TestClient, api: TestClient, global_key: str
) -> None:
    s = team_campaigns(api, global_key)
    key = s["key"]["Authorization"].split()[1]
    got = anonymous.get(f"{N}/getCampaignList?apiKey={key}")
    assert got.status_code == 405
    assert got.headers["allow"] == "POST"
    assert got.json()["Code"] < 0
    unknown = anonymous.post(f"{N}/explode?apiKey={key}")
    assert unknown.status_code == 404
    assert unknown.json() == {"Code": -404, "Message": "The requested object was not found."}
    assert anonymous.post("/servicemanager/rest/NoSuchAPI/method").status_code == 404
    no_key = anonymous.post(f"{N}/getCampaignList")
    assert no_key.status_code == 401
    assert no_key.json()["Code"] == -401
    assert "Traceback" not in no_key.text
    bad = anonymous.post(f"{N}/getCampaignList?apiKey={key}&fTemplateId=abc")
    assert bad.status_code == 400
    assert bad.json()["Code"] == -400
    assert "fTemplateId" in bad.json()["Message"]
    # A user key cannot subscribe (seed 000) — the method is not here yet, and never for user keys.
    assert anonymous.post(f"/servicemanager/rest/CallManagementAPI/subscribe?apiKey={key}").json()["Code"] < 0


def test_campaign_changes_show_on_the_next_request_in_every_process(
    anonymous: TestClient, api: TestClient, global_key: str, settings: Settings
) -> None:
    """The list reuses what it rendered per template only while the template's campaigns are
    unchanged: a change made through another process (a second app here) shows at once."""
    s = team_campaigns(api, global_key)
    key = s["key"]["Authorization"].split()[1]
    url = f"{N}/getCampaignList?apiKey={key}"

    def names() -> dict[int, tuple[str, str]]:
        body = anonymous.post(url).json()
        return {e["id"]: (e["name"], e["status"]) for e in body["entities"]}

    first, second = s["campaigns"]["TA"]
    assert names()[first] == ("TA-0", "active")  # rendered and kept by this process
    with make_client(settings) as other:
        other.headers["Authorization"] = f"Bearer {global_key}"
        renamed = other.patch(f"{T1}/campaigns/{first}/", json={"name": "Renamed", "status": "paused"})
        assert renamed.status_code == 200
        seen = names()
        assert seen[first] == ("Renamed", "paused")
        assert seen[second] == ("TA-1", "active")
        body = {"name": "TA-2", "templateId": s["templates"]["TA"]}
        added = created(other.post(f"{T1}/campaigns/", json=body))
    seen = names()
    assert seen[added["id"]] == ("TA-2", "active")
    assert list(seen) == sorted(seen)  # one template: by id
