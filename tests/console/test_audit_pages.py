"""The audit page: the rows and filters of GET /api/v1/audit/, a tenant administrator's tenant only,
refused (403) to the accounts the API refuses, and bad filters explained next to their field."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from switchboard.audit.models import AuditEntry
from switchboard.db.engine import Database
from switchboard.settings import Settings
from tests.support.access_world import build_world, login, make_account
from tests.support.console import signed_in_as

AUDIT = "/console/audit/"
ROW = re.compile(r'<tr data-id="(\d+)">')
NEXT = re.compile(r'<a href="/console/audit/(\?[^"]*)">Older entries</a>')


def api_ids(api: TestClient, headers: dict[str, str], **params: str) -> list[int]:
    """One page of GET /api/v1/audit/ (flushing the API process's buffered entries first)."""
    listed = api.get("/api/v1/audit/", params=params, headers=headers)
    assert listed.status_code == 200, listed.text
    return [entry["id"] for entry in listed.json()["auditEntries"]]


def page_ids(page: str) -> list[int]:
    return [int(found) for found in ROW.findall(page)]


def test_each_administrator_sees_the_rows_the_api_gives_it(
    api: TestClient, global_key: str, settings: Settings
) -> None:
    world = build_world(api, global_key)
    make_account(api, "root2", "system")
    ta2 = {"Authorization": f"Bearer {login(api, 'ta2')}"}
    api.patch("/api/v1/tenants/t1/", json={"name": "One"}, headers=world.headers["tenant_admin"])
    api.patch("/api/v1/tenants/t2/", json={"name": "Two"}, headers=ta2)
    api.get("/api/v1/tenants/t2/", headers=world.headers["tenant_admin"])  # t1's admin probes t2: 404
    api_ids(api, world.headers["system"])  # the API process's entries, written
    for username, headers in (("root2", world.headers["system"]), ("ta1", world.headers["tenant_admin"])):
        with signed_in_as(settings, username) as console:
            page = console.get(AUDIT)
            assert page.status_code == 200, page.text
            assert page_ids(page.text) == api_ids(api, headers), username
            assert ("account:ta2 via" in page.text) == (username == "root2")
            # Why a 404 was a 404 may be about another tenant: system administrators only.
            assert ("not_found_or_not_visible</code> " in page.text) == (username == "root2")
            assert ("Entries about tenant <strong>t1</strong>" in page.text) == (username == "ta1")
    with signed_in_as(settings, "ta2") as console:
        theirs = console.get(AUDIT).text
        assert page_ids(theirs) == api_ids(api, ta2)
        assert "account:ta1 via" not in theirs


def test_accounts_the_api_refuses_are_refused(api: TestClient, global_key: str, settings: Settings) -> None:
    world = build_world(api, global_key)
    refusal = api.get("/api/v1/audit/", headers=world.headers["user"])
    assert refusal.status_code == 403
    for username in ("eu1", "ga1"):
        with signed_in_as(settings, username) as console:
            page = console.get(AUDIT)
            assert page.status_code == 403
            assert refusal.json()["detail"] in page.text
            assert 'href="/console/audit/"' not in page.text  # not offered in the navigation either
            assert not page_ids(page.text)
    with signed_in_as(settings, "ta1") as console:
        assert 'href="/console/audit/"' in console.get("/console/").text


def test_filters_and_pages_are_the_apis(api: TestClient, global_key: str, settings: Settings) -> None:
    world = build_world(api, global_key)
    make_account(api, "root2", "system")
    for _ in range(55):  # more than a page of t1's administrator's refusals
        api.get("/api/v1/tenants/t2/", headers=world.headers["tenant_admin"])
    system = world.headers["system"]
    wanted = {"principal": "account:ta1", "decision": "deny"}
    first_api = api.get("/api/v1/audit/", params=wanted, headers=system).json()
    with signed_in_as(settings, "root2") as console:
        first = console.get(AUDIT, params=wanted).text
        assert page_ids(first) == [entry["id"] for entry in first_api["auditEntries"]]
        assert f"{first_api['total']} entries match." in first
        assert 'value="account:ta1"' in first
        assert '<option value="deny" selected>' in first
        rows = re.findall(r'<td data-label="Principal" class="audit-principal">([^<]*)</td>', first)
        assert len(rows) == 50
        assert all(row.startswith("account:ta1") for row in rows)
        assert first.count('class="badge badge-deny"') == 50
        older = NEXT.search(first)
        assert older
        assert "principal=account%3Ata1" in older.group(1)
        second = console.get(AUDIT + older.group(1).replace("&amp;", "&")).text
        assert page_ids(second) == api_ids(api, system, **wanted, cursor=first_api["nextCursor"])
        assert len(page_ids(second)) == 5
        assert set(page_ids(first)).isdisjoint(page_ids(second))
        assert "Newest entries" in second
        assert not NEXT.search(second)
        # A time range, as the form's datetime-local fields send it (UTC).
        assert not page_ids(console.get(AUDIT, params={"since": "2999-01-01T00:00"}).text)
        assert not page_ids(console.get(AUDIT, params={"until": "2000-01-01T00:00"}).text)
        since = console.get(AUDIT, params={"since": "2000-01-01T00:00", **wanted}).text
        assert page_ids(since) == page_ids(first)
        assert 'value="2000-01-01T00:00:00"' in since
        # Filters the API refuses: the form again, the reason next to the field.
        bad_time = console.get(AUDIT, params={"since": "yesterday"})
        assert bad_time.status_code == 400
        assert '<p id="since-error" class="error" role="alert">' in bad_time.text
        assert 'aria-describedby="since-error" aria-invalid="true"' in bad_time.text
        assert not page_ids(bad_time.text)
        bad_decision = console.get(AUDIT, params={"decision": "maybe"})
        assert bad_decision.status_code == 400
        assert 'id="decision-error"' in bad_decision.text
        assert console.get(AUDIT, params={"cursor": "x"}).status_code == 400


def test_reasons_read_as_words(api: TestClient, global_key: str, settings: Settings, db: Database) -> None:
    """A refusal's reason is written as a sentence, not as a Python mapping; an entry written before
    (a mapping in its reason) still reads as words on the page."""
    world = build_world(api, global_key)
    make_account(api, "root2", "system")
    missing = {"tenant_id": "t1", "group_id": "g1", "user_id": "u2@t1.example"}
    assert api.post("/api/v1/search/objects/", json=missing, headers=world.headers["user"]).status_code == 404
    assert api.get("/api/v1/tenants/t1/groups/g1/services/ivrs/nope@t1.example/").status_code == 404
    # Without a credential (this client's own, taken off), so that its audit read writes the entry.
    assert api.get("/api/v1/tenants/", headers={"Authorization": ""}).status_code == 401
    entries = api.get("/api/v1/audit/").json()["auditEntries"]
    reasons = [entry["reason"] for entry in entries if entry["decision"] != "allow"]
    # The client is told the header's form; the audit log, which redacts credential headers, says
    # in words what was missing (not "... (Authorization: [REDACTED]").
    assert "No API key or login token was presented." in reasons
    assert not [reason for reason in reasons if "REDACTED" in reason], reasons
    assert (
        "search objects: end user 'u2@t1.example' of group 'g1' in tenant 't1' is not found or not visible"
        in (reasons)
    )
    assert "service user 'nope@t1.example' in tenant 't1' is not found or not visible" in reasons
    assert not [reason for reason in reasons if "{" in reason or "_" in reason.split("'")[0]], reasons
    old = "search objects: no visible match for {'tenant': 't2', 'group': None, 'user': None, 'kind': None}"
    with db.transaction() as session:
        session.add(
            AuditEntry(
                principal="account:root2",
                client="-",
                operation="POST /api/v1/search/objects/",
                decision="deny",
                status=404,
                reason_code="not_found_or_not_visible",
                reason=old,
            )
        )
    with signed_in_as(settings, "root2") as browser:
        page = browser.get(AUDIT).text
        assert "search objects: no visible match for tenant &#39;t2&#39;</span>" in page
        shown = re.findall(r'<td data-label="Reason">(.*?)</td>', page)
        assert shown
        assert not [reason for reason in shown if "{" in reason], shown
