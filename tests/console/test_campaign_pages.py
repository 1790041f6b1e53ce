"""Campaign and lead pages: each account sees what the API lists for it, hidden reads as missing,
forms need their token and the right, and the CSV import goes through the API's lead service (its
progress and outcome on a page of its own, the upload's redirect)."""

from __future__ import annotations

import codecs
import re
import threading
import time
from typing import Any

import pytest
from starlette.testclient import TestClient

from switchboard.console import campaigns
from switchboard.contact_centre import lead_imports
from switchboard.settings import Settings
from tests.support.access_world import login
from tests.support.clients import make_client
from tests.support.console import csrf_of, finished_import, signed_in_as
from tests.support.contact_centre import lead_campaigns
from tests.support.factories import created

T1 = "/api/v1/tenants/t1"
CAMPAIGN_ROW = re.compile(
    r'<td><a href="/console/campaigns/(\d+)/\?tenant=t1">([^<]+)</a></td>.*?<td class="number">([\d,]+)</td>',
    re.S,
)
FAILED_ROW = re.compile(
    r'<tr><td data-label="Line" class="number">(\d+)</td><td data-label="External id">([^<]*)</td>'
    r'<td data-label="Reason"><div>([^<]*)<br><span class="hint">([^<]*)</span></div></td></tr>'
)
FILE_ERROR = re.compile(r'<p class="error" id="lead-file-error" role="alert">([^<]+)</p>')


def listed(page: str) -> dict[str, int]:
    """Campaign name -> lead count, as the campaign list shows them."""
    return {name: int(count.replace(",", "")) for _, name, count in CAMPAIGN_ROW.findall(page)}


def external_ids(page: str) -> list[str]:
    return re.findall(r'<td data-label="External id">((?:crm|x)-\d+)</td>', page)


def api_names(api: TestClient, headers: dict[str, str]) -> set[str]:
    answer = api.get(f"{T1}/campaigns/", params={"limit": 500}, headers=headers)
    assert answer.status_code == 200, answer.text
    return {campaign["name"] for campaign in answer.json()["campaigns"]}


def lead_total(api: TestClient, campaign: int, **params: str) -> int:
    answer = api.get(f"{T1}/campaigns/{campaign}/leads/", params=params)
    assert answer.status_code == 200, answer.text
    total: int = answer.json()["total"]
    return total


def upload(
    browser: TestClient, campaign: int, content: bytes, token: str | None, mode: str = "insert", **extra: str
) -> Any:
    data = {"mode": mode, **extra}
    if token is not None:
        data["csrf"] = token
    return browser.post(
        f"/console/campaigns/{campaign}/import?tenant=t1",
        data=data,
        files={"file": ("leads.csv", content, "text/csv")},
        follow_redirects=False,
    )


def test_the_campaign_list_is_what_the_api_lists(
    api: TestClient, global_key: str, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = lead_campaigns(api, global_key)
    rows = [{"fields": {"firstName": f"L{n}", "phone": f"0390000{n:03}"}} for n in range(3)]
    created(api.post(s["path"], json={"leads": rows}), 200)
    admin = {"Authorization": f"Bearer {login(api, 'ta1')}"}
    with signed_in_as(settings, "ta1") as browser:
        page = browser.get("/console/campaigns/")
        assert set(listed(page.text)) == api_names(api, admin) == {f"T{t}-{n}" for t in "ABN" for n in (0, 1)}
        assert listed(page.text)["TA-0"] == 3
        assert listed(page.text)["TB-1"] == 0
        assert 'id="new-campaign"' in page.text
        assert set(listed(browser.get("/console/campaigns/", params={"q": "tb"}).text)) == {"TB-0", "TB-1"}
        monkeypatch.setattr(campaigns, "CAMPAIGNS_PER_PAGE", 4)
        first = browser.get("/console/campaigns/", params={"tenant": "t1"})
        assert len(listed(first.text)) == 4
        assert "Page 1 of 2" in first.text
        second_link = re.search(r'href="/console/campaigns/\?([^"]+)" rel="next"', first.text)
        assert second_link
        second = browser.get(f"/console/campaigns/?{second_link.group(1).replace('&amp;', '&')}")
        assert set(listed(second.text)) == {"TN-0", "TN-1"}  # by name: TA, TB first
    with signed_in_as(settings, "agent") as browser:
        page = browser.get("/console/campaigns/")
        # Seed 000: an agent sees its team's campaigns, exactly as the API lists them for its key.
        assert set(listed(page.text)) == api_names(api, s["key"]) == {"TA-0", "TA-1"}
        assert 'id="new-campaign"' not in page.text
    with signed_in_as(settings, "eu1") as browser:
        page = browser.get("/console/campaigns/")
        assert listed(page.text) == {}
        assert "No campaigns you can see." in page.text
    with signed_in_as(settings, "ta2") as browser:
        assert listed(browser.get("/console/campaigns/").text) == {}
        hidden = browser.get("/console/campaigns/?tenant=t1")
        missing = browser.get("/console/campaigns/?tenant=nope")
        assert hidden.status_code == missing.status_code == 404
        assert hidden.text == missing.text


def test_creating_a_campaign_and_changing_its_status(
    api: TestClient, global_key: str, settings: Settings
) -> None:
    s = lead_campaigns(api, global_key)
    template = s["templates"]["TA"]
    with signed_in_as(settings, "ta1") as browser:
        token = csrf_of(browser.get("/console/campaigns/").text)
        form = {"name": "Spring", "template": str(template)}
        assert browser.post("/console/campaigns/?tenant=t1", data=form).status_code == 403
        assert "Spring" not in api_names(api, {})
        made = browser.post("/console/campaigns/?tenant=t1", data={**form, "csrf": token})
        assert made.status_code == 200
        assert "<h1>Spring</h1>" in made.text
        (spring,) = [c for c in api.get(f"{T1}/campaigns/").json()["campaigns"] if c["name"] == "Spring"]
        assert (spring["templateId"], spring["status"]) == (template, "active")
        taken = browser.post("/console/campaigns/?tenant=t1", data={**form, "csrf": token})
        assert taken.status_code == 409  # the form again, the reason next to it
        assert re.search(
            r'<p id="err-new-campaign-name" class="error field-error">Name: [^<]*Spring', taken.text
        )
        assert 'value="Spring" aria-invalid="true" aria-describedby="err-new-campaign-name"' in taken.text
        unnamed = browser.post("/console/campaigns/?tenant=t1", data={**form, "name": "a/b", "csrf": token})
        assert unnamed.status_code == 400
        assert 'id="err-new-campaign-name"' in unnamed.text
        paused = browser.post(
            f"/console/campaigns/{spring['id']}/status?tenant=t1", data={"status": "paused", "csrf": token}
        )
        assert paused.status_code == 200
        assert api.get(f"{T1}/campaigns/{spring['id']}/").json()["status"] == "paused"
        bogus = browser.post(
            f"/console/campaigns/{spring['id']}/status?tenant=t1", data={"status": "bogus", "csrf": token}
        )
        assert bogus.status_code == 400
        assert "status" in bogus.text
    with signed_in_as(settings, "agent") as browser:
        page = browser.get(f"/console/campaigns/{s['campaign']}/?tenant=t1")
        assert page.status_code == 200
        assert 'name="status"' not in page.text.split('<nav class="tabs"')[0]  # no status form
        token = csrf_of(page.text)
        refused = browser.post("/console/campaigns/?tenant=t1", data={**form, "name": "Mine", "csrf": token})
        assert refused.status_code == 403
        status = browser.post(
            f"/console/campaigns/{s['campaign']}/status?tenant=t1", data={"status": "paused", "csrf": token}
        )
        assert status.status_code == 403
    assert "Mine" not in api_names(api, {})
    assert api.get(f"{T1}/campaigns/{s['campaign']}/").json()["status"] == "active"


def test_the_campaign_page_lists_and_searches_leads(
    api: TestClient, global_key: str, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = lead_campaigns(api, global_key)
    rows = [
        {
            "externalId": "crm-1",
            "fields": {"firstName": "Ann", "phone": "+61 3 9000 0001", "email": "ann@example.com"},
            "priority": 5,
            "callbackAt": "2026-03-01T10:30:00",
            "disposition": "Call back",
        },
        {
            "externalId": "crm-2",
            "fields": {"firstName": "Bob", "mobile": "0412 345 678"},
            "disposition": "Sale",
        },
        {"externalId": "x-3", "fields": {"firstName": "annie", "phone": "0390000003"}},
    ]
    assert created(api.post(s["path"], json={"leads": rows}), 200)["written"] == 3
    page_url = f"/console/campaigns/{s['campaign']}/"
    with signed_in_as(settings, "agent") as browser:
        page = browser.get(page_url, params={"tenant": "t1"})
        assert external_ids(page.text) == ["crm-1", "crm-2", "x-3"]
        assert "<dt>firstName</dt><dd>Ann</dd>" in page.text
        assert "+61390000001" in page.text  # normalised
        assert "+61 3 9000 0001" not in page.text
        assert '<time datetime="2026-02-28T23:30:00+00:00">2026/03/01 10:30</time>' in page.text  # Melbourne
        assert "Australia/Melbourne" in page.text
        assert '<td data-label="Priority" class="number">5</td>' in page.text

        def found(**params: str) -> list[str]:
            answer = browser.get(page_url, params={"tenant": "t1", **params})
            assert answer.status_code == 200
            return external_ids(answer.text)

        assert found(q="crm") == ["crm-1", "crm-2"]
        assert found(q="ANN") == ["crm-1", "x-3"]  # a name field, any case
        assert found(q="0412 345") == ["crm-2"]  # a phone number, normalised
        assert found(q="+61 (3) 9000") == ["crm-1"]
        assert found(q="ann@") == ["crm-1"]  # an e-mail field
        assert found(q="nobody") == []
        assert found(status="finished") == ["crm-2"]
        assert found(status="callback", q="a") == ["crm-1"]
        # The API's lead list takes the same search (one implementation, used by both).
        assert lead_total(api, s["campaign"], q="ANN") == 2
        assert lead_total(api, s["campaign"], q="0412 345") == 1
        monkeypatch.setattr(campaigns, "LEADS_PER_PAGE", 2)
        first = browser.get(page_url, params={"tenant": "t1"})
        assert external_ids(first.text) == ["crm-1", "crm-2"]
        after = re.search(r'href="\?([^"]+)" rel="next"', first.text)
        assert after
        second = browser.get(f"{page_url}?{after.group(1).replace('&amp;', '&')}")
        assert external_ids(second.text) == ["x-3"]
        assert "First page" in second.text
        assert 'rel="next"' not in second.text


def test_a_hidden_campaign_reads_exactly_like_a_missing_one(
    api: TestClient, global_key: str, settings: Settings
) -> None:
    s = lead_campaigns(api, global_key)
    hidden_campaign = s["campaigns"]["TB"][0]
    csv_file = b"firstName,phone\nAnn,0390000001\n"
    with signed_in_as(settings, "agent") as browser:
        token = csrf_of(browser.get("/console/campaigns/").text)
        for suffix in ("?tenant=t1", "?tenant=t1&tab=import"):
            hidden = browser.get(f"/console/campaigns/{hidden_campaign}/{suffix}")
            missing = browser.get(f"/console/campaigns/999999/{suffix}")
            assert hidden.status_code == missing.status_code == 404
            assert hidden.text == missing.text
            assert "TB-0" not in hidden.text
        hidden_import = upload(browser, hidden_campaign, csv_file, token)
        missing_import = upload(browser, 999999, csv_file, token)
        assert hidden_import.status_code == missing_import.status_code == 404
        assert hidden_import.text == missing_import.text
    assert lead_total(api, hidden_campaign) == 0
    with signed_in_as(settings, "ta2") as browser:
        other_tenant = browser.get(f"/console/campaigns/{s['campaign']}/?tenant=t1")
        missing = browser.get("/console/campaigns/999999/?tenant=nope")
        assert other_tenant.status_code == missing.status_code == 404
        assert other_tenant.text == missing.text


def test_a_large_import_shows_its_progress_and_counts(settings: Settings, global_key: str) -> None:
    small_batches = settings.model_copy(update={"lead_batch_size": 500})
    with make_client(small_batches) as api:
        api.headers["Authorization"] = f"Bearer {global_key}"
        s = lead_campaigns(api, global_key)
    lines = ["firstName,phone,njExternalLeadId,njPriority"]
    for n in range(3000):
        phone = "" if n == 10 else f"039{n:07}"  # line 12: no phone number
        priority = "high" if n == 20 else "20"  # line 22: not a number
        external_id = "crm-0" if n == 30 else f"crm-{n}"  # line 32: crm-0 is taken
        lines.append(f"Lead {n},{phone},{external_id},{priority}")
    content = codecs.BOM_UTF8 + "\r\n".join(lines).encode()  # as Excel writes "CSV UTF-8"
    saved: list[tuple[int, int]] = []
    looked = threading.Event()
    original = lead_imports._Run._save

    def save_and_wait(run: Any, **values: Any) -> None:
        original(run, **values)
        if not values:  # a batch's progress, not the end
            saved.append((run._done, run._written))
            looked.wait(30)  # the first batch's: until the page has been seen showing it

    with signed_in_as(small_batches, "agent") as browser, pytest.MonkeyPatch.context() as patch:
        patch.setattr(lead_imports, "SAVE_EVERY", 0.0)
        patch.setattr(lead_imports._Run, "_save", save_and_wait)
        # Whoever sees a campaign may add leads.
        token = csrf_of(browser.get(f"/console/campaigns/{s['campaign']}/?tenant=t1&tab=import").text)
        started = upload(browser, s["campaign"], content, token)
        for _ in range(600):
            running = browser.get(started.headers["location"])
            if "Processed 500 of 3,000 rows: 497 saved" in running.text:  # read from the database
                break
            time.sleep(0.05)
        assert 'data-status="running"' in running.text
        assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in running.text
        assert 'data-auto-refresh="2"' in running.text
        assert "Rows not imported" not in running.text
        looked.set()
        answer = finished_import(browser, started)
    # The three bad rows are in the first batch.
    assert saved == [(500, 497), (1000, 997), (1500, 1497), (2000, 1997), (2500, 2497), (3000, 2997)]
    assert "<noscript>" not in answer.text
    assert "data-auto-refresh" not in answer.text
    assert answer.headers["cache-control"] == "no-store"
    assert "Done: 3,000 rows read." in answer.text
    assert "Inserted 2,997 leads." in answer.text
    assert "3 rows were not imported" in answer.text
    failed = [(line, external_id) for line, external_id, _, _ in FAILED_ROW.findall(answer.text)]
    assert failed == [("12", "crm-10"), ("22", "crm-20"), ("32", "crm-0")]
    reasons = [reason for _, _, reason, _ in FAILED_ROW.findall(answer.text)]
    assert reasons == ["no phone number (102)", "invalid value (150)", "njExternalLeadId already used (112)"]
    with make_client(settings) as api:
        api.headers["Authorization"] = f"Bearer {global_key}"
        assert lead_total(api, s["campaign"]) == 2997
        assert lead_total(api, s["campaign"], q="crm-2999") == 1
        # Audited as the API's lead writes are, under the console's operation and the agent's name.
        audit = api.get("/api/v1/audit/", params={"limit": 500}).json()["auditEntries"]
        (entry,) = [e for e in audit if e["operation"] == "POST /console/campaigns/{campaign_id}/import"]
        assert entry["object"] == f"leads:{s['campaign']} insert 2997/3000"
        assert entry["principal"].startswith("account:agent")


def test_an_import_reports_every_bad_row_with_its_line(
    api: TestClient, global_key: str, settings: Settings
) -> None:
    s = lead_campaigns(api, global_key)
    created(api.post(f"{T1}/dnc/", json={"number": "03 9999 0000"}))
    content = "\n".join(
        [
            "FIRSTNAME,phone,email,njExternalLeadId,njDisposition,njCallBackDate",
            'Ann,0390000001,ann@example.com,crm-1,,"2026/03/01 10:30"',  # 2: fine
            '"Bob\nthe second",0390000002,,crm-2,,',  # 3-4: fine, a value over two lines
            "Cy,0399990000,,crm-3,,",  # 5: on the do-not-call list
            "Di,0390000001,,crm-4,,",  # 6: Ann's number
            "Ed,0390000005,,crm-5,Maybe,",  # 7: no such disposition
            "Fay,0390000006,,crm-6,,tomorrow",  # 8: not a callback time
            "Gus,0390000007,not-an-email,crm-7,,",  # 9: not an e-mail address
            ",0390000008,,crm-8,,",  # 10: firstName is required
            "Hal,0390000009",  # 11: two values for six columns
            "",  # 12: a blank line is skipped
            "Ida,0390000010,,crm-10,<No Change>,",  # 13: <No Change> in a new lead
            "Jo,0390000011,,crm-11,Sale,",  # 14: fine
        ]
    ).encode()
    with signed_in_as(settings, "ta1") as browser:
        token = csrf_of(browser.get(f"/console/campaigns/{s['campaign']}/?tenant=t1&tab=import").text)
        refused = upload(browser, s["campaign"], content, None)
        assert refused.status_code == 403
        assert lead_total(api, s["campaign"]) == 0
        answer = finished_import(browser, upload(browser, s["campaign"], content, token))
        assert "Inserted 3 leads." in answer.text
        failed = [(int(line), reason) for line, _, reason, _ in FAILED_ROW.findall(answer.text)]
        assert failed == [
            (5, "on the do-not-call list (104)"),
            (6, "number already in the campaign (105)"),
            (7, "unknown disposition (106)"),
            (8, "invalid value (150)"),
            (9, "invalid value (150)"),
            (10, "invalid value (150)"),
            (11, "invalid value (150)"),
            (13, "&lt;No Change&gt; in a new lead (108)"),
        ]
        details = {int(line): detail for line, _, _, detail in FAILED_ROW.findall(answer.text)}
        assert "yyyy/MM/dd HH:mm" in details[8]
        assert "2 values, but the header row has 6 columns" in details[11]
        assert lead_total(api, s["campaign"]) == 3
        (bob,) = api.get(f"{T1}/campaigns/{s['campaign']}/leads/", params={"q": "crm-2"}).json()["leads"]
        assert bob["fields"]["firstName"] == "Bob\nthe second"
        # Updates find leads by njExternalLeadId; '<No Change>' keeps a value, an empty cell clears it.
        changes = b"njExternalLeadId;njPriority;email\ncrm-1;3;<No Change>\ncrm-2;;\nnobody;1;\n"
        updated = finished_import(browser, upload(browser, s["campaign"], changes, token, mode="update"))
        assert "Updated 2 leads." in updated.text
        assert [(line, reason) for line, _, reason, _ in FAILED_ROW.findall(updated.text)] == [
            ("4", "no such lead (101)")
        ]
        ann = api.get(f"{T1}/campaigns/{s['campaign']}/leads/", params={"q": "crm-1"}).json()["leads"][0]
        assert (ann["priority"], ann["fields"]["email"]) == (3, "ann@example.com")


@pytest.mark.parametrize(
    ("content", "mode", "message"),
    [
        (b"", "insert", "The file is empty"),
        (b"PK\x03\x04\x14\x00\x06\x00workbook", "insert", "spreadsheet workbook"),
        ("firstName,phone\nJosé,0390000001\n".encode("latin-1"), "insert", "not UTF-8 text"),
        (b"firstName,phone,shoeSize\nAnn,039,9\n", "insert", "&#39;shoeSize&#39;, which the campaign"),
        (b"firstName,phone\n", "insert", "a header row but no leads"),
        (b"\nfirstName,phone\nAnn,0390000001\n", "insert", "The first line is empty"),
        (b"firstName,email\nAnn,a@b.example\n", "insert", "no phone column"),
        (b"firstName,phone\nAnn,0390000001\n", "update", "the file needs that column"),
        (b"firstName,phone,Phone\nAnn,1,2\n", "insert", "names &#39;phone&#39; twice"),
        (b"firstName,,phone\nAnn,,1\n", "insert", "Column 2 of the header row has no name"),
        (b"firstName,phone\nA\x00nn,0390000001\n", "insert", "Line 2 has a NUL character"),
        (b'firstName,phone\n"' + b"x" * 200_000 + b'",1\n', "insert", "not a readable CSV file"),
    ],
)
def test_a_file_that_is_not_a_csv_of_leads_is_refused_next_to_the_field(
    api: TestClient, global_key: str, settings: Settings, content: bytes, mode: str, message: str
) -> None:
    s = lead_campaigns(api, global_key)
    with signed_in_as(settings, "ta1") as browser:
        token = csrf_of(browser.get(f"/console/campaigns/{s['campaign']}/?tenant=t1&tab=import").text)
        answer = upload(browser, s["campaign"], content, token, mode=mode, allow_duplicates="on")
    assert answer.status_code == 400
    error = FILE_ERROR.search(answer.text)
    assert error, answer.text[-3000:]
    assert message in error.group(1)
    assert 'aria-invalid="true"' in answer.text
    assert 'name="allow_duplicates" checked' in answer.text  # the choices are kept
    assert ('value="update" checked' in answer.text) == (mode == "update")
    assert lead_total(api, s["campaign"]) == 0


def test_uploads_are_bounded_and_rows_limited(
    api: TestClient, global_key: str, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = lead_campaigns(api, global_key)
    monkeypatch.setattr(campaigns, "MAX_UPLOAD_BYTES", 2000)
    rows = "".join(f"Lead {n},039{n:07}\n" for n in range(4000)).encode()  # ~90 kB
    with signed_in_as(settings, "ta1") as browser:
        token = csrf_of(browser.get(f"/console/campaigns/{s['campaign']}/?tenant=t1&tab=import").text)
        too_big = upload(browser, s["campaign"], b"firstName,phone\n" + rows, token)
        assert too_big.status_code == 413  # refused on its declared length, before it is parsed
        error = FILE_ERROR.search(too_big.text)
        assert error
        assert "larger than" in error.group(1)
        just_over = upload(browser, s["campaign"], b"firstName,phone\n" + rows[:3000], token)
        assert just_over.status_code == 400  # the file part itself is over the limit
        assert "larger than" in just_over.text
        monkeypatch.setattr(campaigns, "MAX_UPLOAD_BYTES", 10**6)
        few = settings.model_copy(update={"lead_request_max_rows": 100})
        browser.app.state.services.settings = few  # type: ignore[attr-defined]
        over = upload(browser, s["campaign"], b"firstName,phone\n" + rows[:5000], token)
        assert over.status_code == 400
        assert "more than 100 leads" in over.text
        nothing = browser.post(
            f"/console/campaigns/{s['campaign']}/import?tenant=t1", data={"csrf": token, "mode": "insert"}
        )
        assert nothing.status_code == 400
        assert "Choose a CSV file" in nothing.text
    assert lead_total(api, s["campaign"]) == 0
