"""Users | Accounts pages: each role sees what the policy lets it see, forms need their token,
and a refusal reads exactly like "missing"."""

from __future__ import annotations

from starlette.testclient import TestClient

from switchboard.settings import Settings
from tests.support.access_world import build_world
from tests.support.clients import make_client
from tests.support.console import csrf_of, signed_in_as


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
        assert "expires_on: a date such as 2027-01-31" in bad.text
        past = browser.post(
            "/console/accounts/eu1/api-keys",
            data={"name": "x", "expires_on": "2001-01-01", "scope_calls": "on", "csrf": token},
        )
        assert past.status_code == 400
        assert "expiresAt: must be in the future" in past.text
        unscoped = browser.post("/console/accounts/eu1/api-keys", data={"name": "x", "csrf": token})
        assert unscoped.status_code == 400
        assert "scopes: choose at least one" in unscoped.text
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
        assert 'id="key-error"' in wrong.text
        assert "is not an address or CIDR" in wrong.text
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
