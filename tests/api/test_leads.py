"""Leads and the do-not-call list: per-row codes, normalisation, time zones, batches, Noojee's methods."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from switchboard.contact_centre import leads
from switchboard.contact_centre.models import Lead, LeadPhone
from switchboard.db.engine import Database
from switchboard.events.models import Event
from switchboard.settings import Settings
from tests.support.clients import make_client
from tests.support.contact_centre import lead_campaigns, team_campaigns
from tests.support.factories import created

T1 = "/api/v1/tenants/t1"
N = "/servicemanager/rest/CampaignAPI"


def _codes(response: Any) -> list[int]:
    assert response.status_code == 200, response.text
    return [row["code"] for row in response.json()["results"]]


def test_insert_checks_each_row_and_reports_it(api: TestClient, global_key: str) -> None:
    s = lead_campaigns(api, global_key)
    created(api.post(f"{T1}/dnc/", json={"number": "0061 3 9999 0000", "note": "asked"}))
    rows = [
        {"externalId": "a", "fields": {"firstName": "Ann", "phone": "+61 (3) 9000-0001"}},
        {"externalId": "b", "fields": {"firstName": "Bob"}},  # no phone
        {"externalId": "c", "fields": {"firstName": "Cy", "mobile": "+61399990000"}},  # DNC
        {"externalId": "d", "fields": {"firstName": "Di", "phone": "+61390000001"}},  # Ann's number
        {"externalId": "e", "fields": {"firstName": "Ed", "phone": "+61390000005"}, "disposition": "Nope"},
        {"externalId": "a", "fields": {"firstName": "Al", "phone": "+61390000006"}},  # external id taken
        {"fields": {"firstName": "Fay", "phone": "+61390000007", "shoeSize": "9"}},  # unknown field
        {"fields": {"phone": "+61390000008"}},  # required firstName missing
        {"fields": {"firstName": "Gus", "phone": "not a number"}},
        {"fields": {"firstName": "Hal", "phone": "+61390000009"}, "priority": 101},
        {"fields": {"firstName": "Ida", "phone": "+61390000010", "age": "old"}},
        {"fields": {"firstName": "Jo", "phone": "+61390000011", "email": "jo@example"}},
    ]
    answer = api.post(s["path"], json={"leads": rows})
    assert _codes(answer) == [0, 102, 104, 105, 106, 112, 150, 150, 150, 150, 150, 150]
    body = answer.json()
    assert (body["written"], body["rejected"]) == (1, 11)
    assert "shoeSize" in body["results"][6]["detail"]
    assert "firstName" in body["results"][7]["detail"]
    lead = api.get(f"{s['path']}{body['results'][0]['id']}/").json()
    assert lead["phones"] == ["+61390000001"]
    assert lead["fields"] == {"firstName": "Ann", "phone": "+61390000001"}
    assert (lead["priority"], lead["status"], lead["externalId"]) == (10, "new", "a")
    # The same number twice in one batch is a duplicate too, unless duplicates are allowed.
    twice = [{"fields": {"firstName": n, "phone": "+61 3 9000 0100"}} for n in ("K", "L")]
    assert _codes(api.post(s["path"], json={"leads": twice})) == [0, 105]
    again = api.post(s["path"], json={"leads": twice, "allowDuplicates": True})
    assert _codes(again) == [0, 0]
    # ...but never a do-not-call number.
    dnc = [{"fields": {"firstName": "M", "phone": "0061399990000"}}]
    assert _codes(api.post(s["path"], json={"leads": dnc, "allowDuplicates": True})) == [104]


def test_callback_times_are_in_the_templates_zone_and_set_the_status(
    api: TestClient, global_key: str
) -> None:
    s = lead_campaigns(api, global_key)
    rows = [
        # Melbourne is UTC+11 in December (daylight saving).
        {"fields": {"firstName": "A", "phone": "0390000001"}, "callbackAt": "2026-12-01T09:30:00"},
        {"fields": {"firstName": "B", "phone": "0390000002"}, "callbackAt": "2026-12-01T09:30:00+00:00"},
        {"fields": {"firstName": "C", "phone": "0390000003"}, "disposition": "sale", "priority": 0},
    ]
    ids = [r["id"] for r in api.post(s["path"], json={"leads": rows}).json()["results"]]
    a, b, c = (api.get(f"{s['path']}{i}/").json() for i in ids)
    assert a["callbackAt"] == "2026-11-30T22:30:00+00:00"
    assert a["callbackLocal"] == "2026/12/01 09:30"
    assert a["status"] == "callback"
    assert b["callbackAt"] == "2026-12-01T09:30:00+00:00"
    assert (c["disposition"], c["status"], c["priority"]) == ("Sale", "finished", 0)
    # Lists page by id and filter by status.
    page = api.get(f"{s['path']}?limit=2").json()
    assert [item["id"] for item in page["leads"]] == ids[:2]
    assert page["total"] == 3
    rest = api.get(f"{s['path']}?limit=2&cursor={page['nextCursor']}").json()
    assert [item["id"] for item in rest["leads"]] == ids[2:]
    assert rest["nextCursor"] is None
    assert [i["id"] for i in api.get(f"{s['path']}?status=finished").json()["leads"]] == [ids[2]]
    assert api.get(f"{s['path']}?cursor=garbage").status_code == 400


def test_native_patch_and_delete(api: TestClient, global_key: str) -> None:
    s = lead_campaigns(api, global_key)
    rows = [
        {"fields": {"firstName": "A", "phone": "0390000001"}},
        {"fields": {"firstName": "B", "phone": "0390000002"}},
    ]
    a, b = (r["id"] for r in api.post(s["path"], json={"leads": rows}).json()["results"])
    changed = api.patch(f"{s['path']}{a}/", json={"fields": {"mobile": "0400 000 001"}, "priority": 3})
    assert changed.status_code == 200, changed.text
    assert changed.json()["phones"] == ["0390000001", "0400000001"]
    assert changed.json()["priority"] == 3
    taken = api.patch(f"{s['path']}{a}/", json={"fields": {"phone": "03 9000 0002"}})
    assert taken.status_code == 409
    assert api.patch(f"{s['path']}{a}/", json={"disposition": "nope"}).status_code == 400
    assert api.patch(f"{s['path']}{a}/", json={"fields": {"firstName": None}}).status_code == 400
    assert api.patch(f"{s['path']}999999/", json={"priority": 1}).status_code == 404
    assert api.delete(f"{s['path']}{b}/").status_code == 204
    assert api.get(f"{s['path']}{b}/").status_code == 404
    # The number is free again once its lead is gone.
    assert api.patch(f"{s['path']}{a}/", json={"fields": {"phone": "03 9000 0002"}}).status_code == 200


def test_insert_lead_fast_in_noojees_shape(anonymous: TestClient, api: TestClient, global_key: str) -> None:
    s = lead_campaigns(api, global_key)
    created(api.post(f"{T1}/dnc/", json={"number": "+61399990000"}))
    template = s["templates"]["TA"]
    url = f"{N}/insertLeadFast?apiKey={s['apikey']}&fTemplateId={template}&fCampaignId={s['campaign']}"
    rows = [
        {
            "firstName": "Jane",
            "phone": "03 9000 0001",
            "njExternalLeadId": "crm-1",
            "njCallBackDate": "2026/12/01 09:30",
            "njPriority": "5",
        },
        {"firstName": "Jim", "phone": "+61399990000"},
        {"firstName": "Jon", "phone": "03 9000 0001"},
        {"firstName": "Kim", "phone": "03 9000 0004", "njDisposition": "Maybe"},
        {"firstName": "Lou", "phone": "<No Change>"},
        {"firstName": "Max"},
        {"firstName": "Ned", "phone": "03 9000 0006", "njExternalLeadId": "crm-1"},
        {"firstName": "Oz", "phone": "03 9000 0007", "njCallBackDate": "1 Dec 2026"},
        {"firstName": "Pat", "phone": "03 9000 0008", "njContactHours": "x"},
    ]
    answer = anonymous.post(url, json=rows)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["Code"], body["Message"]) == (0, "OK")
    codes = [(e["Code"], e["Message"]) for e in body["entities"]]
    assert codes == [
        (0, "OK"),
        (104, "DNC"),
        (105, "DUPLICATE"),
        (106, "INVALID_DISPOSTION"),
        (108, "IMPORT_BUT_NOCHANGE_SPECIFIED"),
        (102, "NO_PHONE_FIELDS"),
        (112, "DUPLICATE_EXTERNAL_ID"),
        (150, "INVALID_VALUE"),
        (150, "INVALID_VALUE"),
    ]
    first = body["entities"][0]
    assert first["njExternalLeadId"] == "crm-1"
    lead = api.get(f"{s['path']}{first['leadId']}/").json()
    assert (lead["priority"], lead["callbackAt"]) == (5, "2026-11-30T22:30:00+00:00")
    # allowDuplicates=true lets the same number in.
    dup = anonymous.post(url + "&allowDuplicates=true", json=[{"firstName": "Jon", "phone": "03 9000 0001"}])
    assert dup.json()["entities"][0]["Code"] == 0
    # Malformed as a whole: 400 in the envelope; the method rule; a campaign of another template.
    for bad in (b"not json", b'{"firstName": "x"}', b"[1, 2]"):
        refused = anonymous.post(url, content=bad, headers={"content-type": "application/json"})
        assert refused.status_code == 400
        assert refused.json()["Code"] == -400
    no_campaign = anonymous.post(f"{N}/insertLeadFast?apiKey={s['apikey']}&fTemplateId={template}", json=[])
    assert no_campaign.status_code == 400
    assert "fCampaignId" in no_campaign.json()["Message"]
    assert anonymous.get(url).status_code == 405
    other = s["templates"]["TB"]
    mismatch = anonymous.post(url.replace(f"fTemplateId={template}", f"fTemplateId={other}"), json=[])
    assert mismatch.status_code == 404
    assert mismatch.json() == {"Code": -404, "Message": "The requested object was not found."}


def test_a_key_writes_leads_only_into_campaigns_it_sees(
    anonymous: TestClient, api: TestClient, global_key: str
) -> None:
    s = lead_campaigns(api, global_key)
    row = [{"firstName": "A", "phone": "0390000001"}]
    for name in ("TB", "TN"):
        campaign = s["campaigns"][name][0]
        template = s["templates"][name]
        url = f"{N}/insertLeadFast?apiKey={s['apikey']}&fTemplateId={template}&fCampaignId={campaign}"
        hidden = anonymous.post(url, json=row)
        assert hidden.status_code == 404
        missing = anonymous.post(url.replace(f"fCampaignId={campaign}", "fCampaignId=999999"), json=row)
        assert hidden.content == missing.content
        native = api.get(f"{T1}/campaigns/{campaign}/leads/", headers=s["key"])
        assert native.status_code == 404
    assert api.post(f"{T1}/dnc/", json={"number": "0390000001"}, headers=s["key"]).status_code == 403
    # The global key writes everywhere.
    tb = s["campaigns"]["TB"][0]
    url = f"{N}/insertLeadFast?fTemplateId={s['templates']['TB']}&fCampaignId={tb}"
    assert anonymous.post(url, json=row, headers={"X-API-Key": global_key}).json()["entities"][0]["Code"] == 0


def test_update_lead_fast_matches_by_external_id(
    anonymous: TestClient, api: TestClient, global_key: str
) -> None:
    s = lead_campaigns(api, global_key)
    q = f"apiKey={s['apikey']}&fTemplateId={s['templates']['TA']}&fCampaignId={s['campaign']}"
    inserted = anonymous.post(
        f"{N}/insertLeadFast?{q}",
        json=[
            {"firstName": "A", "phone": "0390000001", "njExternalLeadId": "x1"},
            {"firstName": "B", "phone": "0390000002", "njExternalLeadId": "x2", "njDisposition": "Call back"},
        ],
    ).json()
    assert [e["Code"] for e in inserted["entities"]] == [0, 0]
    created(api.post(f"{T1}/dnc/", json={"number": "0390000099"}))
    updates = [
        {"njExternalLeadId": "x1", "firstName": "Anna", "phone": "<No Change>", "njDisposition": "Sale"},
        {"njExternalLeadId": "x2", "phone": "<No Change>", "njDisposition": "<No Change>", "njPriority": "1"},
        {"njExternalLeadId": "nope", "firstName": "Z"},
        {"firstName": "no id"},
        {"njExternalLeadId": "x1", "njDisposition": "Unknown"},
        {"njExternalLeadId": "x2", "mobile": "0390000099"},
        {"njExternalLeadId": "x2", "mobile": "0390000001"},
    ]
    answer = anonymous.post(f"{N}/updateLeadFast?{q}", json=updates)
    assert answer.status_code == 200, answer.text
    assert [e["Code"] for e in answer.json()["entities"]] == [0, 0, 101, 101, 106, 104, 105]
    x1, x2 = (e["leadId"] for e in inserted["entities"])
    one = api.get(f"{s['path']}{x1}/").json()
    assert (one["fields"]["firstName"], one["disposition"], one["status"]) == ("Anna", "Sale", "finished")
    two = api.get(f"{s['path']}{x2}/").json()
    assert (two["disposition"], two["priority"], two["phones"]) == ("Call back", 1, ["0390000002"])
    # '<No Change>' for a disposition the lead does not have: 107.
    anonymous.post(
        f"{N}/insertLeadFast?{q}", json=[{"firstName": "C", "phone": "039", "njExternalLeadId": "x3"}]
    )
    none_set = anonymous.post(
        f"{N}/updateLeadFast?{q}", json=[{"njExternalLeadId": "x3", "njDisposition": "<NO CHANGE>"}]
    )
    assert none_set.json()["entities"][0]["Code"] == 107


def test_dnc_list_is_normalised_paged_and_kept_by_admins(api: TestClient, global_key: str) -> None:
    team_campaigns(api, global_key)
    for number in ("+61 3 9000 0003", "0061390000001", "(03) 9000-0002"):
        created(api.post(f"{T1}/dnc/", json={"number": number}))
    assert api.post(f"{T1}/dnc/", json={"number": "+61390000001"}).status_code == 409
    assert api.post(f"{T1}/dnc/", json={"number": "call me"}).status_code == 400
    first = api.get(f"{T1}/dnc/?limit=2").json()
    assert [e["number"] for e in first["dncEntries"]] == ["+61390000001", "+61390000003"]
    assert first["total"] == 3
    rest = api.get(f"{T1}/dnc/?limit=2&cursor={first['nextCursor']}").json()
    assert [e["number"] for e in rest["dncEntries"]] == ["0390000002"]
    assert api.get(f"{T1}/dnc/?numberPrefix=%2B61").json()["total"] == 2
    assert api.delete(f"{T1}/dnc/0061390000001/").status_code == 204
    assert api.delete(f"{T1}/dnc/0061390000001/").status_code == 404
    assert api.get(f"{T1}/dnc/").json()["total"] == 2


def _count(db: Database, model: Any) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_a_failing_batch_is_rolled_back_whole_and_reported(
    settings: Settings, db: Database, global_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = settings.model_copy(update={"lead_batch_size": 100})
    with make_client(small) as api:
        api.headers["Authorization"] = f"Bearer {global_key}"
        s = lead_campaigns(api, global_key)
        real = leads.insert_batch
        calls = []

        def second_batch_fails(session: Any, ctx: Any, rows: Any, allow: bool) -> Any:
            calls.append(len(rows))
            results = real(session, ctx, rows, allow)  # written in the transaction, then:
            if len(calls) == 2:
                raise leads.SQLAlchemyError("disk full")
            return results

        monkeypatch.setattr(leads, "insert_batch", second_batch_fails)
        events_before = _count(db, Event)
        rows = [{"fields": {"firstName": "x", "phone": f"0390{n:06}"}} for n in range(250)]
        answer = api.post(s["path"], json={"leads": rows})
        codes = _codes(answer)
    assert calls == [100, 100]
    assert codes[:100] == [0] * 100
    assert codes[100:] == [103] * 150
    assert "rolled back" in answer.json()["results"][100]["detail"]
    assert "earlier batch" in answer.json()["results"][200]["detail"]
    assert _count(db, Lead) == 100
    assert _count(db, LeadPhone) == 100
    assert _count(db, Event) == _count(db, Lead) + events_before  # the failed batch's events went too


def test_a_lead_write_gives_way_between_its_batches_only(
    settings: Settings, global_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Giving way (on SQLite: waiting, up to a second, until no other writer waits for the lock)
    lets others write between two batches; after the last one there is nothing to let in, and a
    one-lead insert waited there for every writer queued behind it (the mixed load's tail)."""
    gave_way: list[int] = []
    monkeypatch.setattr(Database, "give_way", lambda self: gave_way.append(1))
    with make_client(settings.model_copy(update={"lead_batch_size": 100})) as api:
        api.headers["Authorization"] = f"Bearer {global_key}"
        s = lead_campaigns(api, global_key)
        one = [{"fields": {"firstName": "x", "phone": "0391000000"}}]
        assert _codes(api.post(s["path"], json={"leads": one})) == [0]
        assert gave_way == []
        rows = [{"fields": {"firstName": "x", "phone": f"0390{n:06}"}} for n in range(250)]
        assert _codes(api.post(s["path"], json={"leads": rows})) == [0] * 250
    assert gave_way == [1, 1]  # three batches: between the first and second, the second and third


def test_too_many_concurrent_writers_is_109_with_429(settings: Settings, global_key: str) -> None:
    one = settings.model_copy(update={"lead_writers": 1, "lead_writer_wait_seconds": 0.05})
    with make_client(one) as api:
        api.headers["Authorization"] = f"Bearer {global_key}"
        s = lead_campaigns(api, global_key)
        url = f"{N}/insertLeadFast?fTemplateId={s['templates']['TA']}&fCampaignId={s['campaign']}"
        gate: leads.LeadWriteGate = api.app.state.services.lead_writer.gate  # type: ignore[attr-defined]
        with gate:  # another request is writing
            busy = api.post(
                url, json=[{"firstName": "A", "phone": "039"}, {"firstName": "B", "phone": "038"}]
            )
            native = api.post(s["path"], json={"leads": [{"fields": {"firstName": "A", "phone": "039"}}]})
        assert busy.status_code == 429
        assert busy.headers["retry-after"] == "1"
        body = busy.json()
        assert body["Code"] == 109
        assert [e["Code"] for e in body["entities"]] == [109, 109]
        assert native.status_code == 429
        assert api.post(url, json=[{"firstName": "A", "phone": "039"}]).json()["entities"][0]["Code"] == 0


def test_concurrent_inserts_of_the_same_numbers_admit_each_number_once(
    settings: Settings, global_key: str, api: TestClient
) -> None:
    """Two apps (two workers' worth) insert the same 200 numbers into one campaign at once: the
    duplicate check cannot race (campaign row lock on PostgreSQL, one writer on SQLite)."""
    import threading

    s = lead_campaigns(api, global_key)
    rows = [{"fields": {"firstName": "x", "phone": f"0391{n:06}"}} for n in range(200)]
    codes: list[list[int]] = []
    start = threading.Barrier(2)
    # Two apps in one process (a test-only setup) share route classes; FastAPI builds a route's
    # models lazily on its first request, and pydantic's schema building is not thread-safe.
    one_at_a_time = threading.Lock()

    def insert() -> None:
        with make_client(settings.model_copy(update={"lead_batch_size": 20})) as client:
            client.headers["Authorization"] = f"Bearer {global_key}"
            with one_at_a_time:  # each app builds its routes on first use: not both at once
                assert _codes(client.post(s["path"], json={"leads": [{"fields": {}}]})) == [150]
            start.wait()
            codes.append(_codes(client.post(s["path"], json={"leads": rows})))

    workers = [threading.Thread(target=insert) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert len(codes) == 2
    # Each number once: per row, exactly one of the two requests wrote it, the other got 105.
    assert all(sorted(pair) == [0, 105] for pair in zip(*codes, strict=True))
    assert api.get(f"{s['path']}?limit=1").json()["total"] == 200


def test_lead_changes_are_events_without_personal_data(
    api: TestClient, global_key: str, db: Database
) -> None:
    """lead.created / lead.updated / lead.deleted, one per lead, in the write's transaction;
    ids, status and disposition only, never the lead's fields."""
    s = lead_campaigns(api, global_key)
    rows = [{"externalId": "e1", "fields": {"firstName": "Ann", "phone": "0390000001"}}]
    (lead_id,) = (r["id"] for r in api.post(s["path"], json={"leads": rows}).json()["results"])
    assert api.patch(f"{s['path']}{lead_id}/", json={"priority": 50}).status_code == 200
    assert api.delete(f"{s['path']}{lead_id}/").status_code == 204
    with db.transaction() as session:
        found = list(session.scalars(select(Event).where(Event.kind.startswith("lead.")).order_by(Event.pk)))
        events = [(e.kind, e.data["leadId"], e.campaign_id, e.data["externalId"]) for e in found]
        payloads = [str(e.data) for e in found]
    assert events == [
        ("lead.created", lead_id, s["campaign"], "e1"),
        ("lead.updated", lead_id, s["campaign"], "e1"),
        ("lead.deleted", lead_id, s["campaign"], "e1"),
    ]
    assert not any("0390000001" in p or "Ann" in p for p in payloads)
