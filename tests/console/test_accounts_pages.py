"""Users | Accounts pages: each role sees what the policy lets it see, forms need their token,
and a refusal reads exactly like "missing"."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from switchboard.settings import Settings
from tests.support.access_world import PASSWORD, build_world
from tests.support.clients import make_client
from tests.support.console import csrf_of, sign_in, signed_in_as


def usernames(page: str) -> set[str]:
    return {name for name in ("ta1", "ga1", "eu1", "ta2") if f">{name}</a>" in page}


def test_each_role_lists_the_accounts_it_may_see(
    api: TestClient, global_key: str, settings: Settings
) -> None:
    build_world(api, global_key)
    expected = {"ta1": {"ta1", "ga1", "eu1"}, "ga1": {"ga1", "eu1"}, "eu1": {"eu1"}, "ta2": {"ta2"}}
    for username, visible in expected.items():
        with signed_in_as(settings, username) as browser:
            assert usernames(browser.get("/console/accounts/").text) == visible, username
    with signed_in_as(settings, "ta1") as browser:
        assert usernames(browser.get("/console/accounts/", params={"q": "e"}).text) == {"eu1"}
    with make_client(settings) as anonymous:
        assert (
            anonymous.get("/console/accounts/", follow_redirects=False).headers["location"]
            == "/console/sign-in"
        )


def test_an_account_outside_the_view_is_the_same_page_as_a_missing_one(
    api: TestClient, global_key: str, settings: Settings
) -> None:
    build_world(api, global_key)
    with signed_in_as(settings, "ta1") as browser:
        hidden = browser.get("/console/accounts/ta2/?tab=security")
        missing = browser.get("/console/accounts/nobody/?tab=security")
        assert hidden.status_code == missing.status_code == 404
        assert hidden.text == missing.text
        assert "ta2" not in hidden.text


def test_creating_and_revoking_keys_need_the_forms_token_and_the_right(
    api: TestClient, global_key: str, settings: Settings
) -> None:
    build_world(api, global_key)
    with signed_in_as(settings, "ta1") as browser:
        page = browser.get("/console/accounts/eu1/?tab=security")
        token = csrf_of(page.text)
        assert (
            browser.post("/console/accounts/eu1/api-keys", data={"name": "x", "csrf": "0" * 64}).status_code
            == 403
        )
        bad = browser.post(
            "/console/accounts/eu1/api-keys",
            data={"name": "x", "expires_on": "01/02/2030", "scope_calls": "on", "csrf": token},
        )
        assert bad.status_code == 400
        assert "Stops working on: a date such as 2027-01-31" in bad.text
        past = browser.post(
            "/console/accounts/eu1/api-keys",
            data={"name": "x", "expires_on": "2001-01-01", "scope_calls": "on", "csrf": token},
        )
        assert past.status_code == 400
        assert "Stops working on: must be in the future" in past.text
        unscoped = browser.post("/console/accounts/eu1/api-keys", data={"name": "x", "csrf": token})
        assert unscoped.status_code == 400
        assert "Scopes: choose at least one" in unscoped.text
        made = browser.post(
            "/console/accounts/eu1/api-keys",
            data={
                "name": "crm",
                "allow": "10.0.0.0/8",
                "scope_calls": "on",
                "scope_campaigns": "on",
                "csrf": token,
            },
        )
        assert made.status_code == 200
        assert "sbu_" in made.text
        keys = api.get("/api/v1/accounts/eu1/api-keys/").json()["apiKeys"]
        assert [(k["name"], k["ipAllowlist"], k["scopes"]) for k in keys] == [
            ("crm", ["10.0.0.0/8"], ["campaigns", "calls"])
        ]
        key_id = keys[0]["id"]
        # Edit: another name, a date, only recordings, anywhere; the date kept as is when untouched.
        edit_page = browser.get(f"/console/accounts/eu1/api-keys/{key_id}/")
        assert 'value="crm"' in edit_page.text
        assert "sbu_" not in edit_page.text.replace(keys[0]["prefix"], "")
        form = {
            "name": "crm2",
            "expires_on": "2099-12-31",
            "scope_recordings": "on",
            "allow": "",
            "csrf": token,
        }
        assert (
            browser.post(f"/console/accounts/eu1/api-keys/{key_id}/", data={**form, "csrf": "x"}).status_code
            == 403
        )
        saved = browser.post(f"/console/accounts/eu1/api-keys/{key_id}/", data=form, follow_redirects=False)
        assert saved.status_code == 303
        edited = api.get("/api/v1/accounts/eu1/api-keys/").json()["apiKeys"][0]
        assert (edited["name"], edited["scopes"], edited["ipAllowlist"]) == ("crm2", ["recordings"], [])
        assert edited["expiresAt"].startswith("2099-12-31T00:00:00")
        wrong = browser.post(f"/console/accounts/eu1/api-keys/{key_id}/", data={**form, "allow": "nope"})
        assert wrong.status_code == 400
        assert 'id="err-key-allow"' in wrong.text
        assert "is not an IP address or network" in wrong.text
        assert (
            browser.post(f"/console/accounts/eu1/api-keys/{key_id}/revoke", data={"csrf": "x"}).status_code
            == 403
        )
        confirm = browser.get(f"/console/accounts/eu1/api-keys/{key_id}/revoke")
        assert "cannot be undone" in confirm.text
        done = browser.post(
            f"/console/accounts/eu1/api-keys/{key_id}/revoke", data={"csrf": token}, follow_redirects=False
        )
        assert done.status_code == 303
        assert api.get("/api/v1/accounts/eu1/api-keys/").json()["apiKeys"][0]["revoked"] is True
    # An end user may not make keys for another account (or tell that it exists).
    with signed_in_as(settings, "eu1") as browser:
        token = csrf_of(browser.get("/console/").text)
        form = {"name": "x", "scope_calls": "on", "csrf": token}
        other = browser.post("/console/accounts/ga1/api-keys", data=form)
        nobody = browser.post("/console/accounts/nobody/api-keys", data=form)
        assert other.status_code == nobody.status_code == 404
        assert other.text == nobody.text
        other = browser.get("/console/accounts/ga1/api-keys/1/")
        nobody = browser.get("/console/accounts/nobody/api-keys/1/")
        assert other.status_code == nobody.status_code == 404
        assert other.text == nobody.text


def test_the_mode_is_remembered_for_the_user(api: TestClient, global_key: str, settings: Settings) -> None:
    build_world(api, global_key)
    with signed_in_as(settings, "ta1") as browser:
        basic = browser.get("/console/accounts/eu1/?tab=security")
        assert "Create API Key" not in basic.text  # Security is an Advanced-mode tab
        switched = browser.post(
            "/console/preferences/mode",
            data={"mode": "advanced", "back": "/console/accounts/eu1/", "csrf": csrf_of(basic.text)},
            follow_redirects=False,
        )
        assert switched.headers["location"] == "/console/accounts/eu1/"
        evil = browser.post(
            "/console/preferences/mode",
            data={"mode": "advanced", "back": "https://evil.example/", "csrf": csrf_of(basic.text)},
        )
        assert evil.status_code == 400  # no open redirect
    with signed_in_as(settings, "ta1") as again:  # another browser, the same user
        assert "Create API Key" in again.get("/console/accounts/eu1/?tab=security").text
    with signed_in_as(settings, "ga1") as other_user:
        assert "Create API Key" not in other_user.get("/console/accounts/eu1/?tab=security").text


# -- accounts made, changed and disabled in the console: the API's services and rules ---------------


def account_of(api: TestClient, username: str) -> dict[str, object]:
    answer = api.get(f"/api/v1/accounts/{username}/")
    assert answer.status_code == 200, answer.text
    found: dict[str, object] = answer.json()
    return found


def test_a_tenant_admin_creates_an_account_with_a_password_typed_or_generated(
    api: TestClient, global_key: str, settings: Settings
) -> None:
    build_world(api, global_key)
    with signed_in_as(settings, "ta1") as browser:
        listing = browser.get("/console/accounts/")
        token = csrf_of(listing.text)
        assert '<option value="system"' not in listing.text  # only the roles it may grant
        form = {
            "username": "t1.bob",
            "display_name": "Bob",
            "role": "user",
            "tenant": "t1",
            "group": "g1",
            "linked_user": "u2@t1.example",
            "password": PASSWORD,
            "csrf": token,
        }
        made = browser.post("/console/accounts/", data=form, follow_redirects=False)
        assert made.status_code == 303
        assert made.headers["location"] == "/console/accounts/t1.bob/"
        assert "Account &#39;t1.bob&#39; created." in browser.get(made.headers["location"]).text
        bob = account_of(api, "t1.bob")
        assert (bob["role"], bob["tenantId"], bob["groupId"], bob["linkedUserId"]) == (
            "user",
            "t1",
            "g1",
            "u2@t1.example",
        )
        generated = browser.post("/console/accounts/", data={**form, "username": "t1.carol", "password": ""})
        assert generated.status_code == 200
        assert "This is the only time the password is shown" in generated.text
        password = re.search(r'id="new-key" class="key" value="([^"]+)"', generated.text)
        assert password
        assert browser.get("/console/new-key").status_code == 410  # shown once
    with make_client(settings) as other:
        assert sign_in(other, "t1.bob")[0] == 303
        assert sign_in(other, "t1.carol", password.group(1))[0] == 303


def test_the_console_refuses_what_the_api_refuses_with_its_words(
    api: TestClient, global_key: str, settings: Settings
) -> None:
    world = build_world(api, global_key)
    body = {
        "username": "t1.boss",
        "password": PASSWORD,
        "role": "tenant_admin",
        "tenantId": "t1",
    }
    by_api = api.post("/api/v1/accounts/", json=body, headers=world.headers["group_admin"])
    assert by_api.status_code == 403
    with signed_in_as(settings, "ga1") as browser:
        token = csrf_of(browser.get("/console/accounts/").text)
        form = {
            "username": "t1.boss",
            "password": PASSWORD,
            "role": "tenant_admin",
            "tenant": "t1",
            "group": "",
        }
        by_console = browser.post("/console/accounts/", data={**form, "csrf": token})
        assert by_console.status_code == 403
        assert by_api.json()["detail"].replace("'", "&#39;") in by_console.text
        # Its own enabled flag is an administrator's to change, in the console as in the API.
        own = browser.post("/console/accounts/ga1/enabled", data={"enabled": "off", "csrf": token})
        assert own.status_code == 403
        assert "your own role, scope, link and enabled flag" in own.text
    assert account_of(api, "ga1")["enabled"] is True
    with signed_in_as(settings, "eu1") as browser:
        listing = browser.get("/console/accounts/")
        assert "New account" not in listing.text  # an end user grants nothing
        token = csrf_of(listing.text)
        refused = browser.post(
            "/console/accounts/",
            data={"username": "t1.x", "password": PASSWORD, "role": "user", "tenant": "t1", "csrf": token},
        )
        by_api = api.post(
            "/api/v1/accounts/",
            json={"username": "t1.x", "password": PASSWORD, "role": "user", "tenantId": "t1"},
            headers=world.headers["user"],
        )
        assert refused.status_code == by_api.status_code == 403


def test_a_tenant_admin_cannot_see_or_change_another_tenants_accounts(
    api: TestClient, global_key: str, settings: Settings
) -> None:
    build_world(api, global_key)
    with signed_in_as(settings, "ta1") as browser:
        token = csrf_of(browser.get("/console/accounts/").text)
        missing = browser.get("/console/accounts/nobody/")
        for answer in (
            browser.get("/console/accounts/ta2/"),
            browser.post("/console/accounts/ta2/", data={"display_name": "Mallory", "csrf": token}),
            browser.post("/console/accounts/ta2/enabled", data={"enabled": "off", "csrf": token}),
            browser.post("/console/accounts/ta2/password", data={"action": "generate", "csrf": token}),
        ):
            assert answer.status_code == 404
            assert answer.text == missing.text
        made = browser.post(
            "/console/accounts/",
            data={"username": "t1.spy", "password": PASSWORD, "role": "user", "tenant": "t2", "csrf": token},
        )
        assert made.status_code == 404  # t2 is not in its view: missing, as in the API
    ta2 = account_of(api, "ta2")
    assert (ta2["displayName"], ta2["enabled"]) == ("", True)
    assert api.get("/api/v1/accounts/t1.spy/").status_code == 404
    with make_client(settings) as other:
        assert sign_in(other, "ta2")[0] == 303  # its password unchanged


def test_an_account_is_changed_reset_disabled_and_enabled(
    api: TestClient, global_key: str, settings: Settings
) -> None:
    build_world(api, global_key)
    with signed_in_as(settings, "ta1") as browser:
        page = browser.get("/console/accounts/eu1/")
        token = csrf_of(page.text)
        assert 'value="u1@t1.example"' in page.text
        form = {
            "display_name": "Eve",
            "email": "eve@t1.example",
            "role": "group_admin",
            "group": "g1",
            "linked_user": "",
            "csrf": token,
        }
        saved = browser.post("/console/accounts/eu1/", data=form)
        assert saved.status_code == 200
        assert "Account &#39;eu1&#39; saved." in saved.text
        eve = account_of(api, "eu1")
        assert (eve["displayName"], eve["role"], eve["groupId"], eve["linkedUserId"]) == (
            "Eve",
            "group_admin",
            "g1",
            None,
        )
        recased = browser.post("/console/accounts/eu1/", data={**form, "display_name": "EVE"})
        assert recased.status_code == 200
        assert account_of(api, "eu1")["displayName"] == "EVE"  # a name's case is a change
        # Emptied fields: the name and email are cleared (not left as they were).
        cleared = browser.post("/console/accounts/eu1/", data={**form, "display_name": "", "email": ""})
        assert cleared.status_code == 200
        assert (account_of(api, "eu1")["displayName"], account_of(api, "eu1")["email"]) == ("", "")
        # A group admin needs a group: the form comes back, the words at the field.
        refused = browser.post("/console/accounts/eu1/", data={**form, "group": "", "display_name": "Eva"})
        assert refused.status_code == 400
        assert "Group: a group admin needs a group" in refused.text
        assert 'value="Eva"' in refused.text
        linked = browser.post("/console/accounts/eu1/", data={**form, "linked_user": "u9@t1.example"})
        assert linked.status_code == 400
        assert "Linked end user: no such end user in the account&#39;s tenant" in linked.text
        # The password: typed, or generated and shown once.
        short = browser.post("/console/accounts/eu1/password", data={"password": "short", "csrf": token})
        assert short.status_code == 400
        assert "Password: at least 12 characters" in short.text
        typed = browser.post(
            "/console/accounts/eu1/password", data={"password": "a new password 1", "csrf": token}
        )
        assert "Password of &#39;eu1&#39; changed" in typed.text
        with make_client(settings) as other:
            assert sign_in(other, "eu1", "a new password 1")[0] == 303
        generated = browser.post("/console/accounts/eu1/password", data={"action": "generate", "csrf": token})
        password = re.search(r'id="new-key" class="key" value="([^"]+)"', generated.text)
        assert password
        # Disabled: it cannot sign in; enabled again: it can.
        disabled = browser.post("/console/accounts/eu1/enabled", data={"enabled": "off", "csrf": token})
        assert "Account &#39;eu1&#39; disabled." in disabled.text
        assert account_of(api, "eu1")["enabled"] is False
        with make_client(settings) as other:
            assert sign_in(other, "eu1", password.group(1))[0] == 401
        enabled = browser.post("/console/accounts/eu1/enabled", data={"enabled": "on", "csrf": token})
        assert "Account &#39;eu1&#39; enabled." in enabled.text
        with make_client(settings) as other:
            assert sign_in(other, "eu1", password.group(1))[0] == 303
