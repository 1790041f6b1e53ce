"""Every console form the same way: refused, it comes back with what was typed (never a password)
and each problem in words next to its field, under the refusal's status; done, the next page says
what was done, once."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from switchboard.settings import Settings
from tests.support.access_world import build_world, make_account
from tests.support.console import csrf_of, signed_in_as
from tests.support.factories import created

NOTICE_COOKIE = "__Host-sb_notice"


def field_error(page: str, error_id: str) -> str:
    """The words of the problem shown under an input (its element id: forms.Filled.id_of)."""
    found = re.search(rf'<p id="{error_id}" class="error field-error">([^<]*)</p>', page)
    assert found, page[-3000:]
    return found.group(1)


def status_notice(page: str) -> str | None:
    found = re.search(r'<p class="notice" role="status">([^<]*)</p>', page)
    return found.group(1) if found else None


def test_a_refused_key_form_comes_back_as_typed_with_the_words_next_to_the_field(
    api: TestClient, global_key: str, settings: Settings
) -> None:
    build_world(api, global_key)
    with signed_in_as(settings, "ta1") as browser:
        token = csrf_of(browser.get("/console/accounts/eu1/?tab=security").text)
        form = {"name": "CRM", "allow": "10.0.0.0/8, 300.1.1.1", "scope_calls": "on", "csrf": token}
        refused = browser.post("/console/accounts/eu1/api-keys", data=form)
        assert refused.status_code == 400
        page = refused.text
        assert "Bad Request" not in page
        assert "ipAllowlist" not in page  # the API's field names stay in the API
        words = field_error(page, "err-new-key-allow")
        assert words == "Allowed from, entry 2: &#39;300.1.1.1&#39; is not an IP address or network"
        assert re.search(
            r'id="key-allow" name="allow"[^>]*value="10.0.0.0/8, 300.1.1.1" aria-invalid="true"', page
        )
        assert 'value="CRM"' in page
        assert 'name="scope_calls" value="on" checked' in page
        assert 'name="scope_campaigns" value="on">' in page  # left unticked, as sent
        assert api.get("/api/v1/accounts/eu1/api-keys/").json()["apiKeys"] == []
        # Several problems at once, each at its own field.
        both = browser.post(
            "/console/accounts/eu1/api-keys", data={"name": "", "expires_on": "", "csrf": token}
        )
        assert both.status_code == 400
        assert field_error(both.text, "err-new-key-scopes").startswith("Scopes: choose at least one")


def test_schema_errors_are_words_at_every_field(api: TestClient, global_key: str, settings: Settings) -> None:
    build_world(api, global_key)
    with signed_in_as(settings, "ta1") as browser:
        token = csrf_of(browser.get("/console/accounts/eu1/?tab=security").text)
        form = {"name": "x" * 81, "allow": "", "scope_calls": "on", "csrf": token}
        long_name = browser.post("/console/accounts/eu1/api-keys", data=form)
        assert long_name.status_code == 400
        assert field_error(long_name.text, "err-new-key-name") == "Name: at most 80 characters"
        assert "String should" not in long_name.text


def test_a_refused_tenant_key_form_keeps_its_lines(
    api: TestClient, global_key: str, settings: Settings
) -> None:
    build_world(api, global_key)
    with signed_in_as(settings, "ta1") as browser:
        token = csrf_of(browser.get("/console/settings/tenant-keys/").text)
        form = {"name": "noojee 2", "expires_days": "30", "ip_allowlist": "10.0.0.0/8\nnope", "csrf": token}
        refused = browser.post("/console/settings/tenant-keys/?tenant=t1", data=form)
        assert refused.status_code == 400
        assert field_error(refused.text, "err-new-tenant-key-ip_allowlist") == (
            "Allowed from, line 2: &#39;nope&#39; is not an IP address or network"
        )
        assert ">10.0.0.0/8\nnope</textarea>" in refused.text
        assert 'value="noojee 2"' in refused.text
        assert 'value="30"' in refused.text


def test_a_password_typed_never_comes_back(api: TestClient, global_key: str, settings: Settings) -> None:
    build_world(api, global_key)
    with signed_in_as(settings, "ta1") as browser:
        token = csrf_of(browser.get("/console/accounts/").text)
        form = {"username": "t1.bob", "role": "user", "tenant": "t1", "password": "tooShort-9", "csrf": token}
        refused = browser.post("/console/accounts/", data=form)
        assert refused.status_code == 400
        assert field_error(refused.text, "err-new-account-password") == "Password: at least 12 characters"
        assert "tooShort-9" not in refused.text
        assert 'value="t1.bob"' in refused.text
        taken = browser.post("/console/accounts/", data={**form, "username": "eu1", "password": "x" * 12})
        assert taken.status_code == 400  # outside t1's namespace: the API's answer, at the field
        assert field_error(taken.text, "err-new-account-username").startswith("Username: ")


def test_a_conflict_is_said_at_the_field_it_is_about(
    api: TestClient, global_key: str, settings: Settings
) -> None:
    build_world(api, global_key)
    with signed_in_as(settings, "ta1") as browser:
        token = csrf_of(browser.get("/console/teams/").text)
        made = browser.post("/console/teams/?tenant=t1", data={"name": "Sales", "csrf": token})
        assert made.status_code == 200
        again = browser.post("/console/teams/?tenant=t1", data={"name": "Sales", "csrf": token})
        assert again.status_code == 409
        assert field_error(again.text, "err-new-team-name").startswith("Name: ")
        assert "Sales" in field_error(again.text, "err-new-team-name")
        assert re.search(r'id="team-name" name="name"[^>]*value="Sales" aria-invalid="true"', again.text)


def test_each_change_leaves_a_notice_for_the_next_page_only(
    api: TestClient, global_key: str, settings: Settings
) -> None:
    build_world(api, global_key)
    with signed_in_as(settings, "ta1") as browser:
        token = csrf_of(browser.get("/console/accounts/eu1/?tab=security").text)
        made = browser.post(
            "/console/accounts/eu1/api-keys", data={"name": "CRM", "scope_calls": "on", "csrf": token}
        )
        assert status_notice(made.text) == "Key &#39;CRM&#39; created."
        key_id = api.get("/api/v1/accounts/eu1/api-keys/").json()["apiKeys"][0]["id"]
        saved = browser.post(
            f"/console/accounts/eu1/api-keys/{key_id}/",
            data={"name": "CRM2", "scope_calls": "on", "csrf": token},
        )
        assert status_notice(saved.text) == "Key &#39;CRM2&#39; saved."
        assert status_notice(browser.get("/console/accounts/eu1/?tab=security").text) is None  # once
        revoked = browser.post(f"/console/accounts/eu1/api-keys/{key_id}/revoke", data={"csrf": token})
        assert status_notice(revoked.text) == "Key &#39;CRM2&#39; revoked."
        team = browser.post("/console/teams/?tenant=t1", data={"name": "Sales", "csrf": token})
        assert status_notice(team.text) == "Team created."
        # A notice is words only: the key itself never rides in the cookie or a URL.
        kept = browser.post(
            "/console/accounts/eu1/api-keys",
            data={"name": "CRM3", "scope_calls": "on", "csrf": token},
            follow_redirects=False,
        )
        assert "?" not in kept.headers["location"]
        assert "sbu_" not in kept.headers["set-cookie"]
    make_account(api, "root2", "system")
    with signed_in_as(settings, "root2") as browser:
        token = csrf_of(browser.get("/console/settings/").text)
        saved = browser.post(
            "/console/settings/default-domain", data={"domain": "corp.example", "csrf": token}
        )
        assert status_notice(saved.text) == "Default domain: saved."


def test_a_notice_signed_for_another_session_is_not_shown(
    api: TestClient, global_key: str, settings: Settings
) -> None:
    build_world(api, global_key)
    with signed_in_as(settings, "ta1") as first:
        token = csrf_of(first.get("/console/accounts/eu1/?tab=security").text)
        answer = first.post(
            "/console/accounts/eu1/api-keys",
            data={"name": "CRM", "scope_calls": "on", "csrf": token},
            follow_redirects=False,
        )
        cookie = answer.cookies[NOTICE_COOKIE]
    with signed_in_as(settings, "ta1") as second:
        second.cookies.set(NOTICE_COOKIE, cookie)
        assert status_notice(second.get("/console/").text) is None
        forged = cookie.rsplit(".", 1)[0] + "." + "0" * 64
        second.cookies.set(NOTICE_COOKIE, forged)
        assert status_notice(second.get("/console/").text) is None


def test_a_refused_roster_row_and_template_come_back_at_their_fields(
    api: TestClient, global_key: str, settings: Settings
) -> None:
    build_world(api, global_key)
    created(api.post("/api/v1/tenants/t1/teams/", json={"name": "Sales"}))
    created(api.post("/api/v1/tenants/t1/teams/Sales/members/", json={"username": "eu1"}), 200)
    with signed_in_as(settings, "ta1") as browser:
        token = csrf_of(browser.get("/console/teams/").text)
        form = {"member-0": "eu1", "position-0": "x", "shifts-0": "mon 09:00-17:00", "csrf": token}
        refused = browser.post("/console/teams/Sales/roster?tenant=t1", data=form)
        assert refused.status_code == 400
        assert field_error(refused.text, "err-roster-Sales-position-0") == (
            "Stack position, row 1: a whole number, or blank"
        )
        assert (
            'name="shifts-0" size="50" aria-label="Weekly shifts of eu1" value="mon 09:00-17:00"'
            in refused.text
        )
        override = {"username": "eu1", "start": "tomorrow", "end": "", "note": "dentist", "csrf": token}
        refused = browser.post("/console/teams/Sales/roster/overrides?tenant=t1", data=override)
        assert refused.status_code == 400
        assert field_error(refused.text, "err-override-Sales-start").startswith("From: ")
        assert 'value="dentist"' in refused.text
        assert status_notice(refused.text) is None
