"""Noojee's getCallRecordList, RecordingAPI's hour list and a leg's audio, and RecordingAPI under
/njadmin/rest/ and /rest/ as under /servicemanager/rest/."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from starlette.testclient import TestClient

from tests.support.access_world import login
from tests.support.calls import dial, noojee, wait_state
from tests.support.contact_centre import T1, lead_campaigns
from tests.support.factories import created

N = "/servicemanager/rest/CampaignAPI"
PREFIXES = ("/servicemanager/rest", "/njadmin/rest", "/rest")


def _call(api: TestClient, number: str, campaign: int | None, record: bool = False) -> str:
    params: dict[str, Any] = {"extenOrUniqueId": "103", "number": number, "tenantId": "t1"}
    if campaign is not None:
        params["campaignId"] = campaign
    unique_id = dial(api, **params)
    if record:
        assert noojee(api, "start", extenOrUniqueId=unique_id, tag="rec-1").json()["Code"] == 0
        assert noojee(api, "stop", extenOrUniqueId=unique_id).json()["Code"] == 0
    assert noojee(api, "hangup", extenOrUniqueId=unique_id).json()["Code"] == 0
    wait_state(api, unique_id, "Hungup")
    return unique_id


@pytest.fixture
def calls(api: TestClient, global_key: str) -> dict[str, Any]:
    """TA's campaign with leads in allocations "May" and the default; calls to both leads (the
    first recorded), one for TB's campaign and one for no campaign."""
    s = lead_campaigns(api, global_key)
    ta, tb = s["campaign"], s["campaigns"]["TB"][0]
    may = {"leads": [{"externalId": "crm-1", "fields": {"firstName": "A", "phone": "0390001001"}}]}
    created(api.post(s["path"], json={**may, "allocationName": "May"}), 200)
    created(api.post(s["path"], json={"leads": [{"fields": {"firstName": "B", "phone": "0390001002"}}]}), 200)
    allocations = api.get(f"{T1}/campaigns/{ta}/allocations/").json()["allocations"]
    s["allocation"] = {a["name"]: a["id"] for a in allocations}
    s["calls"] = {
        "lead1": _call(api, "0390001001", ta, record=True),
        "lead2": _call(api, "0390001002", ta),
        "tb": _call(api, "0390001003", tb),
        "none": _call(api, "0390001004", None),
    }
    s["tb"] = tb
    return s


def _records(client: TestClient, query: str, **headers: str) -> list[dict[str, Any]]:
    answer = client.post(f"{N}/getCallRecordList{query}", headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["Code"], body["Message"]) == (0, "OK")
    entities: list[dict[str, Any]] = body["entities"]
    for entity in entities:
        assert isinstance(entity["id"], int)
        assert isinstance(entity["name"], str)
    return entities


def test_call_records_are_the_visible_campaigns_calls_with_leads_and_recordings(
    anonymous: TestClient, global_key: str, calls: dict[str, Any]
) -> None:
    c, key = calls["calls"], f"?apiKey={calls['apikey']}"
    ta, tb, may = calls["campaign"], calls["tb"], calls["allocation"]["May"]
    # The agent's user key: TA's calls only (team A), oldest first.
    mine = _records(anonymous, key)
    assert [e["uniqueCallId"] for e in mine] == [c["lead1"], c["lead2"]]
    first, second = mine
    assert (first["name"], first["leadId"] is not None, first["allocationId"]) == ("crm-1", True, may)
    assert (second["name"], second["allocationId"]) == ("0390001002", calls["allocation"]["Default"])
    assert (first["number"], first["extension"], first["campaignId"], first["direction"]) == (
        "0390001001",
        "103",
        ta,
        "Outbound",
    )
    assert first["status"] == "Hungup"
    assert len(first["startDate"]) == len(first["endDate"]) == 19
    assert first["duration"] >= 0
    (leg,) = first["recordings"]
    assert (leg["leg"], leg["tag"]) == (1, "rec-1")
    assert second["recordings"] == []
    # Filters: allocation, campaign, template; another team's campaign is simply not listed.
    assert [e["uniqueCallId"] for e in _records(anonymous, f"{key}&allocationId={may}")] == [c["lead1"]]
    assert _records(anonymous, f"{key}&campaignId={tb}") == []
    assert _records(anonymous, f"{key}&fTemplateId={calls['templates']['TB']}") == []
    assert _records(anonymous, f"{key}&campaignId={ta}&fTemplateId={calls['templates']['TA']}") == mine
    # The global key: every campaign's calls; a call for no campaign is no campaign's record.
    every = _records(anonymous, "", Authorization=f"Bearer {global_key}")
    assert [e["uniqueCallId"] for e in every] == [c["lead1"], c["lead2"], c["tb"]]
    assert _records(anonymous, "", Authorization=f"Bearer {login(anonymous, 'ta2')}") == []
    bad = anonymous.post(f"{N}/getCallRecordList{key}&allocationId=x")
    assert (bad.status_code, bad.json()["Code"]) == (400, -400)


def test_retrieve_recording_is_the_native_download_under_every_prefix(
    anonymous: TestClient, api: TestClient, calls: dict[str, Any]
) -> None:
    (record, _) = _records(anonymous, f"?apiKey={calls['apikey']}")
    recording_id = record["recordings"][0]["id"]
    native = api.get(f"/api/v1/recordings/{recording_id}/file/")
    assert native.status_code == 200
    assert native.content[:4] == b"RIFF"
    for prefix in PREFIXES:
        audio = anonymous.post(
            f"{prefix}/RecordingAPI/retrieveRecording?apiKey={calls['apikey']}&recordingId={recording_id}"
        )
        assert audio.status_code == 200, audio.text
        assert audio.headers["content-type"] == "audio/wav"
        assert audio.content == native.content
        missing = anonymous.post(
            f"{prefix}/RecordingAPI/retrieveRecording?apiKey={calls['apikey']}&recordingId=999999"
        )
        assert (missing.status_code, missing.json()) == (
            404,
            {"Code": -404, "Message": "The requested object was not found."},
        )


def _hour_of(moment: datetime, zone: ZoneInfo) -> dict[str, str]:
    local = moment.astimezone(zone)
    return {"date": local.strftime("%Y/%m/%d"), "hour": str(local.hour)}


def test_metadata_by_hour_lists_the_legs_that_ended_in_that_hour_of_the_tenants_clock(
    api: TestClient, calls: dict[str, Any]
) -> None:
    unique_id = calls["calls"]["lead1"]
    (recording,) = api.get("/api/v1/recordings/", params={"uniqueId": unique_id}).json()["recordings"]
    stopped = datetime.fromisoformat(recording["stoppedAt"])
    ra = "/servicemanager/rest/RecordingAPI"
    expected = api.post(f"{ra}/retrieveMetaDataByUniqueId", params={"uniqueId": unique_id}).json()
    # The global key: hours in UTC.
    utc = _hour_of(stopped, ZoneInfo("UTC"))
    assert api.post(f"{ra}/retrieveMetaDataByHour", params=utc).json() == expected
    other = {**utc, "hour": str((int(utc["hour"]) + 1) % 24)}
    assert api.post(f"{ra}/retrieveMetaDataByHour", params=other).json() == {
        "Code": 0,
        "Message": "OK",
        "entities": [],
    }
    # A tenant's principal: hours on its tenant's clock.
    melbourne = ZoneInfo("Australia/Melbourne")
    assert api.patch("/api/v1/tenants/t1/", json={"timeZone": "Australia/Melbourne"}).status_code == 200
    # Start is now on the tenant's clock too.
    expected = api.post(f"{ra}/retrieveMetaDataByUniqueId", params={"uniqueId": unique_id}).json()
    admin = {"Authorization": f"Bearer {login(api, 'ta1')}"}
    local = _hour_of(stopped, melbourne)
    assert local != utc
    assert api.post(f"{ra}/retrieveMetaDataByHour", params=local, headers=admin).json() == expected
    assert api.post(f"{ra}/retrieveMetaDataByHour", params=utc, headers=admin).json()["entities"] == []
    assert api.post(f"{ra}/retrieveMetaDataByHour", params=local).json()["entities"] == []  # global: UTC
    # Bad input: 400 in the envelope, naming the parameter.
    for params, name in (
        ({"date": "2026-01-01", "hour": "3"}, "date"),
        ({"date": "2026/02/30", "hour": "3"}, "date"),
        ({"date": "2026/01/01", "hour": "24"}, "hour"),
        ({"date": "2026/01/01", "hour": "-1"}, "hour"),
        ({"date": "2026/01/01", "hour": "²"}, "hour"),
        ({"date": "2026/01/01", "hour": "9" * 30}, "hour"),
        ({"date": "9999/12/31", "hour": "23"}, "date"),
        ({"date": "2026/01/01"}, "hour"),
        ({"hour": "3"}, "date"),
    ):
        bad = api.post(f"{ra}/retrieveMetaDataByHour", params=params)
        assert bad.status_code == 400, params
        assert bad.json()["Code"] == -400
        assert name in bad.json()["Message"]


def test_recording_api_answers_identically_under_its_aliases_with_envelope_errors(
    anonymous: TestClient, calls: dict[str, Any]
) -> None:
    key, unique_id = calls["apikey"], calls["calls"]["lead1"]
    queries = (
        f"retrieveMetaData?tag=rec-1&apiKey={key}",
        f"retrieveMetaDataByUniqueId?uniqueId={unique_id}&apiKey={key}",
        f"retrieveMetaDataByHour?date=2020/01/01&hour=0&apiKey={key}",
    )
    for query in queries:
        answers = [anonymous.post(f"{prefix}/RecordingAPI/{query}") for prefix in PREFIXES]
        assert all(a.status_code == 200 for a in answers), query
        assert answers[0].json()["Code"] == 0
        assert answers[1].content == answers[0].content == answers[2].content, query
    assert len(anonymous.post(f"/rest/RecordingAPI/{queries[0]}").json()["entities"]) == 1
    # The apiKey form field, as on the main prefix.
    form = anonymous.post("/njadmin/rest/RecordingAPI/retrieveMetaData", data={"apiKey": key, "tag": "rec-1"})
    assert form.json() == anonymous.post(f"/njadmin/rest/RecordingAPI/{queries[0]}").json()
    for prefix in PREFIXES[1:]:
        no_key = anonymous.post(f"{prefix}/RecordingAPI/retrieveMetaData?tag=x")
        assert (no_key.status_code, no_key.json()["Code"]) == (401, -401)
        unknown = anonymous.post(f"{prefix}/RecordingAPI/explode?apiKey={key}")
        assert (unknown.status_code, unknown.json()) == (
            404,
            {"Code": -404, "Message": "The requested object was not found."},
        )
        wrong_verb = anonymous.get(f"{prefix}/RecordingAPI/{queries[0]}")
        assert (wrong_verb.status_code, wrong_verb.json()["Code"]) == (405, -405)
        bad = anonymous.post(f"{prefix}/RecordingAPI/retrieveMetaDataByHour?date=x&hour=1&apiKey={key}")
        assert (bad.status_code, bad.json()["Code"]) == (400, -400)
