"""Allocations: named batches of a campaign's leads, from every way leads are written; the native
endpoints and Noojee's getAllocationList, seen exactly as their campaign is."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from switchboard.settings import Settings
from tests.support.access_world import login
from tests.support.console import csrf_of, finished_import, signed_in_as
from tests.support.contact_centre import T1, lead_campaigns
from tests.support.factories import created

N = "/servicemanager/rest/CampaignAPI"


def _lead(n: int) -> dict[str, str]:
    return {"firstName": f"L{n}", "phone": f"0390001{n:03}"}


def _allocations(api: TestClient, campaign: int, **headers: str) -> dict[str, dict[str, Any]]:
    answer = api.get(f"{T1}/campaigns/{campaign}/allocations/", headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["total"] == len(body["allocations"])
    return {item["name"]: item for item in body["allocations"]}


def _insert_fast(api: TestClient, s: dict[str, Any], rows: list[dict[str, str]], **extra: str) -> Any:
    template = s["templates"]["TA"]
    params = {"apiKey": s["apikey"], "fTemplateId": template, "fCampaignId": s["campaign"], **extra}
    return api.post(f"{N}/insertLeadFast", params=params, json=rows, headers={"Authorization": ""})


def test_every_lead_write_names_its_allocation_or_joins_the_default(
    anonymous: TestClient, api: TestClient, global_key: str, settings: Settings
) -> None:
    s = lead_campaigns(api, global_key)
    campaign = s["campaign"]
    assert _allocations(api, campaign) == {}  # the default is created on demand
    # insertLeadFast, with and without allocationName (a query parameter, as Noojee takes it).
    named = _insert_fast(anonymous, s, [_lead(1), _lead(2)], allocationName="May list")
    assert [e["Code"] for e in named.json()["entities"]] == [0, 0], named.text
    unnamed = _insert_fast(anonymous, s, [_lead(3)])
    assert unnamed.json()["entities"][0]["Code"] == 0
    # The native import, named (same name in another case: the same allocation) and not.
    body = {"leads": [{"fields": _lead(4)}], "allocationName": "may LIST"}
    assert created(api.post(s["path"], json=body), 200)["written"] == 1
    assert created(api.post(s["path"], json={"leads": [{"fields": _lead(5)}]}), 200)["written"] == 1
    # The console's CSV import, named.
    with signed_in_as(settings, "ta1") as browser:
        page = browser.get(f"/console/campaigns/{campaign}/?tenant=t1&tab=import")
        assert 'name="allocation"' in page.text
        answer = browser.post(
            f"/console/campaigns/{campaign}/import?tenant=t1",
            data={"mode": "insert", "csrf": csrf_of(page.text), "allocation": "From CSV"},
            files={"file": ("leads.csv", b"firstName,phone\nL6,0390001006\nL7,0390001007\n", "text/csv")},
            follow_redirects=False,
        )
        assert "Inserted 2 leads." in finished_import(browser, answer).text
    found = _allocations(api, campaign)
    assert {name: a["leadCount"] for name, a in found.items()} == {"May list": 3, "Default": 2, "From CSV": 2}
    assert all(a["campaignId"] == campaign for a in found.values())
    one = api.get(f"{T1}/campaigns/{campaign}/allocations/{found['May list']['id']}/")
    assert one.status_code == 200
    assert one.json() == found["May list"]
    # Each lead says its allocation.
    leads = api.get(s["path"], params={"limit": 50}).json()["leads"]
    by_name = {lead["fields"]["firstName"]: lead["allocationId"] for lead in leads}
    assert by_name["L1"] == by_name["L4"] == found["May list"]["id"]
    assert by_name["L3"] == by_name["L5"] == found["Default"]["id"]
    assert by_name["L7"] == found["From CSV"]["id"]
    # A name that cannot be one: 400, nothing written.
    blank = api.post(s["path"], json={"leads": [{"fields": _lead(8)}], "allocationName": " "})
    assert blank.status_code == 400
    assert "allocationName" in blank.text
    too_long = _insert_fast(anonymous, s, [_lead(9)], allocationName="x" * 81)
    assert too_long.status_code == 400
    assert too_long.json()["Code"] == -400
    assert sum(a["leadCount"] for a in _allocations(api, campaign).values()) == 7
    # Pages follow the cursor.
    first = api.get(f"{T1}/campaigns/{campaign}/allocations/", params={"limit": 2}).json()
    rest = api.get(
        f"{T1}/campaigns/{campaign}/allocations/", params={"limit": 2, "cursor": first["nextCursor"]}
    ).json()
    assert [a["name"] for a in first["allocations"] + rest["allocations"]] == [
        "May list",
        "Default",
        "From CSV",
    ]
    assert rest["nextCursor"] is None


def test_get_allocation_list_follows_the_campaign_list_for_every_key(
    anonymous: TestClient, api: TestClient, global_key: str
) -> None:
    s = lead_campaigns(api, global_key)
    ta, tb, tn = s["campaigns"]["TA"][0], s["campaigns"]["TB"][0], s["campaigns"]["TN"][0]
    for campaign, name in ((ta, "a"), (tb, "b"), (tn, "n")):
        path = f"{T1}/campaigns/{campaign}/leads/"
        created(api.post(path, json={"leads": [{"fields": _lead(1)}], "allocationName": name}), 200)

    def listed(query: str = "", **headers: str) -> list[tuple[int, str]]:
        answer = anonymous.post(f"{N}/getAllocationList{query}", headers=headers)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert (body["Code"], body["Message"]) == (0, "OK")
        for entity in body["entities"]:
            assert isinstance(entity["id"], int)
            assert isinstance(entity["name"], str)
        return [(e["campaignId"], e["name"]) for e in body["entities"]]

    agent = f"?apiKey={s['apikey']}"
    # The user key (the agent, in team A) sees TA's campaigns' allocations, and no others.
    assert listed(agent) == [(ta, "a")]
    assert listed(f"{agent}&fCampaignId={ta}") == [(ta, "a")]
    assert listed(f"{agent}&fCampaignId={tb}") == []
    assert listed(f"{agent}&fCampaignId=999999") == []
    # The global key sees all; the tenant admin its tenant's (the same three here).
    everything = [(ta, "a"), (tb, "b"), (tn, "n")]
    assert listed(Authorization=f"Bearer {global_key}") == everything
    assert listed(Authorization=f"Bearer {login(api, 'ta1')}") == everything
    assert listed(Authorization=f"Bearer {login(api, 'ta2')}") == []
    bad = anonymous.post(f"{N}/getAllocationList{agent}&fCampaignId=abc")
    assert bad.status_code == 400
    assert bad.json()["Code"] == -400


def test_another_tenants_allocations_are_not_found_exactly_like_missing_ones(
    api: TestClient, global_key: str
) -> None:
    s = lead_campaigns(api, global_key)
    template = created(api.post("/api/v1/tenants/t2/campaign-templates/", json={"name": "X"}))["id"]
    other = created(api.post("/api/v1/tenants/t2/campaigns/", json={"name": "X", "templateId": template}))[
        "id"
    ]
    t2_leads = f"/api/v1/tenants/t2/campaigns/{other}/leads/"
    created(api.post(t2_leads, json={"leads": [{}], "allocationName": "theirs"}), 200)
    theirs = api.get(f"/api/v1/tenants/t2/campaigns/{other}/allocations/").json()["allocations"][0]["id"]
    created(api.post(s["path"], json={"leads": [{"fields": _lead(1)}]}), 200)
    mine = _allocations(api, s["campaign"])["Default"]["id"]
    admin = {"Authorization": f"Bearer {login(api, 'ta1')}"}
    missing = api.get(f"{T1}/campaigns/999999/allocations/", headers=admin)
    assert missing.status_code == 404
    for path in (
        f"/api/v1/tenants/t2/campaigns/{other}/allocations/",
        f"/api/v1/tenants/t2/campaigns/{other}/allocations/{theirs}/",
        f"{T1}/campaigns/{other}/allocations/",
        f"{T1}/campaigns/{s['campaign']}/allocations/{theirs}/",
        f"{T1}/campaigns/{s['campaign']}/allocations/999999/",
    ):
        answer = api.get(path, headers=admin)
        assert (answer.status_code, answer.content) == (404, missing.content), path
    assert api.get(f"{T1}/campaigns/{s['campaign']}/allocations/{mine}/", headers=admin).status_code == 200
