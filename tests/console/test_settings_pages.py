"""Settings pages: system accounts only; END_USER_NAME preview, default domain, the IP allowlist's
lock-out warning and global key rotation, each through the same store as /api/v1/settings/."""

from __future__ import annotations

import re
import time

from starlette.testclient import TestClient

from switchboard.settings import Settings
from tests.support.access_world import build_world, eventually_status, make_account
from tests.support.clients import make_client
from tests.support.console import csrf_of, signed_in_as

ALLOW = "/api/v1/settings/ip-allowlist/"


def test_only_system_accounts_reach_settings(api: TestClient, global_key: str, settings: Settings) -> None:
    build_world(api, global_key)
    make_account(api, "root2", "system")
    with signed_in_as(settings, "ta1") as browser:
        refused = browser.get("/console/settings/")
        assert refused.status_code == 403
        assert "Settings need system rights." in refused.text
        assert 'href="/console/settings/"' not in browser.get("/console/").text  # not in the menu
        token = csrf_of(browser.get("/console/").text)
        changed = browser.post(
            "/console/settings/default-domain", data={"domain": "x.example", "csrf": token}
        )
        assert changed.status_code == 403
    assert api.get("/api/v1/settings/").json()["DEFAULT_DOMAIN"] == "switchboard.local"
    with signed_in_as(settings, "root2") as browser:
        shown = browser.get("/console/settings/")
        assert shown.status_code == 200
        assert 'value="switchboard.local"' in shown.text
        assert "127.0.0.1/32" in shown.text


def test_end_user_name_preview_and_save(api: TestClient, global_key: str, settings: Settings) -> None:
    build_world(api, global_key)
    make_account(api, "root2", "system")
    with signed_in_as(settings, "root2") as browser:
        token = csrf_of(browser.get("/console/settings/").text)
        form = {"template": "{{last_name}}, {{first_name}}", "csrf": token}
        preview = browser.post("/console/settings/end-user-name", data={**form, "action": "preview"})
        assert preview.status_code == 200
        assert "<li>Lovelace, Ada</li>" in preview.text
        assert "<li>Núñez-O&#39;Brien, José</li>" in preview.text  # escaped, never raw HTML
        assert api.get("/api/v1/settings/").json()["END_USER_NAME"] == "{{first_name}} {{last_name}}"
        bad = browser.post("/console/settings/end-user-name", data={**form, "template": "{{email}}"})
        assert bad.status_code == 400
        assert 'id="END_USER_NAME-error"' in bad.text
        assert "unknown parameter email" in bad.text
        assert 'value="{{email}}"' in bad.text  # what was typed stays in the field
        saved = browser.post("/console/settings/end-user-name", data={**form, "action": "save"})
        assert saved.status_code == 200
        assert "End user names: saved." in saved.text
    assert api.get("/api/v1/settings/").json()["END_USER_NAME"] == "{{last_name}}, {{first_name}}"


def test_default_domain_errors_sit_next_to_the_field(
    api: TestClient, global_key: str, settings: Settings
) -> None:
    build_world(api, global_key)
    make_account(api, "root2", "system")
    with signed_in_as(settings, "root2") as browser:
        token = csrf_of(browser.get("/console/settings/").text)
        taken = browser.post("/console/settings/default-domain", data={"domain": "t1.example", "csrf": token})
        assert taken.status_code == 409
        assert re.search(r'id="DEFAULT_DOMAIN-error"[^>]*>[^<]*assigned to a tenant', taken.text)
        bad = browser.post("/console/settings/default-domain", data={"domain": "not a domain", "csrf": token})
        assert bad.status_code == 400
        assert "must be a domain name" in bad.text
        assert (
            browser.post("/console/settings/default-domain", data={"domain": "Corp.Example"}).status_code
            == 403
        )
        done = browser.post(
            "/console/settings/default-domain", data={"domain": "Corp.Example", "csrf": token}
        )
        assert done.status_code == 200
    assert api.get("/api/v1/settings/").json()["DEFAULT_DOMAIN"] == "corp.example"


def test_an_allowlist_without_the_current_address_needs_confirming(
    api: TestClient, global_key: str, settings: Settings
) -> None:
    build_world(api, global_key)
    make_account(api, "root2", "system")
    with signed_in_as(settings, "root2") as browser:  # connects from 127.0.0.1
        token = csrf_of(browser.get("/console/settings/").text)
        elsewhere = {"entries": "198.51.100.0/24\n203.0.113.7", "csrf": token}
        warned = browser.post("/console/settings/ip-allowlist", data=elsewhere)
        assert warned.status_code == 409
        assert "Your address 127.0.0.1 is not in this list" in warned.text
        assert "Save anyway and lose access from 127.0.0.1" in warned.text
        assert api.get(ALLOW).json()["entries"] == ["127.0.0.1/32", "::1/128"]  # nothing saved yet
        bad = browser.post("/console/settings/ip-allowlist", data={**elsewhere, "entries": "127.0.0.1\nnope"})
        assert bad.status_code == 400
        assert "IP allowlist, line 2: &#39;nope&#39; is not an IP address or network" in bad.text
        kept = browser.post(
            "/console/settings/ip-allowlist", data={**elsewhere, "entries": "127.0.0.0/8, 198.51.100.0/24"}
        )
        assert kept.status_code == 200
        assert api.get(ALLOW).json()["entries"] == ["127.0.0.0/8", "198.51.100.0/24"]
        locked = browser.post(
            "/console/settings/ip-allowlist",
            data={**elsewhere, "confirm": "lock-out"},
            follow_redirects=False,
        )
        assert locked.status_code == 303
        # Every worker hears of the change through the feed; from then on this address is refused.
        deadline = time.monotonic() + 5
        while browser.get("/console/settings/").status_code != 403:
            assert time.monotonic() < deadline, "the new allowlist never took effect"
            time.sleep(0.05)
    with make_client(settings, client=("203.0.113.7", 1)) as outside:
        answer = outside.get(
            "/api/v1/settings/ip-allowlist/", headers={"Authorization": f"Bearer {global_key}"}
        )
        assert answer.json()["entries"] == ["198.51.100.0/24", "203.0.113.7/32"]


def test_rotating_the_global_key_shows_the_new_one_once(
    api: TestClient, global_key: str, settings: Settings
) -> None:
    build_world(api, global_key)
    make_account(api, "root2", "system")
    with signed_in_as(settings, "root2") as browser:
        page = browser.get("/console/settings/")
        assert global_key[:10] in page.text
        assert global_key not in page.text
        token = csrf_of(page.text)
        assert (
            browser.post("/console/settings/global-key/rotate", data={"grace_hours": "0"}).status_code == 403
        )
        bad = browser.post("/console/settings/global-key/rotate", data={"grace_hours": "-1", "csrf": token})
        assert bad.status_code == 400
        assert "a whole number of hours" in bad.text
        rotated = browser.post(
            "/console/settings/global-key/rotate", data={"grace_hours": "0", "csrf": token}
        )
        assert rotated.status_code == 200
        assert "This is the only time the key is shown." in rotated.text
        new_key = re.search(r'id="new-key" class="key" value="([^"]+)"', rotated.text)
        assert new_key
        assert new_key.group(1).startswith("sbg_")
        assert new_key.group(1) not in browser.get("/console/settings/").text
    # Grace 0: the old key stops at once, the new one works (the same rule as the CLI's rotation).
    # (The API client is another app, as another worker would be: it hears of it through the feed.)
    headers = {"Authorization": f"Bearer {new_key.group(1)}"}
    deadline = time.monotonic() + 5
    while api.get("/api/v1/settings/", headers=headers).status_code != 200:
        assert time.monotonic() < deadline, "the new global key never worked"
        time.sleep(0.05)
    assert api.get("/api/v1/settings/").status_code == 401


NEW_KEY = re.compile(r'id="new-key" class="key" value="(sbn_[0-9A-Za-z]{38})"')


def _new_key(page: str) -> str:
    match = NEW_KEY.search(page)
    assert match, page[:800]
    return match.group(1)


def test_tenant_keys_page_creates_rotates_and_revokes(
    api: TestClient, global_key: str, settings: Settings
) -> None:
    build_world(api, global_key)
    make_account(api, "root2", "system")
    with signed_in_as(settings, "root2") as browser:
        picker = browser.get("/console/settings/tenant-keys/")
        assert picker.status_code == 200
        assert "Pick a tenant." in picker.text
        assert '<option value="t2"' in picker.text
        shown = browser.get("/console/settings/tenant-keys/?tenant=t2")
        assert "No tenant keys." in shown.text
        token = csrf_of(shown.text)
        made = browser.post(
            "/console/settings/tenant-keys/?tenant=t2",
            data={
                "name": "Noojee",
                "expires_days": "30",
                "ip_allowlist": "127.0.0.1\n10.0.0.0/8",
                "csrf": token,
            },
        )
        assert made.status_code == 200, made.text[:500]
        assert "only time the key is shown" in made.text
        key = _new_key(made.text)
        listed = browser.get("/console/settings/tenant-keys/?tenant=t2").text
        assert key not in listed  # shown once
        assert f"<code>{key[:10]}…</code>" in listed
        assert "127.0.0.1/32, 10.0.0.0/8" in listed
        refused = browser.post("/console/settings/tenant-keys/?tenant=t2", data={"name": "x"})
        assert refused.status_code == 403  # no CSRF token
    # The key works as t2's administrator, and only there.
    assert api.get("/api/v1/tenants/t2/", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert api.get("/api/v1/tenants/t1/", headers={"Authorization": f"Bearer {key}"}).status_code == 404
    key_id = api.get("/api/v1/tenants/t2/tenant-keys/").json()["tenantKeys"][0]["keyId"]
    # t2's administrator rotates it (no overlap) and revokes the successor; t1's cannot see t2's.
    with signed_in_as(settings, "ta2") as browser:
        page = browser.get("/console/").text
        assert 'href="/console/settings/tenant-keys/"' in page
        listed = browser.get("/console/settings/tenant-keys/").text
        assert "Keys of t2" in listed
        token = csrf_of(listed)
        bad = browser.post(
            f"/console/settings/tenant-keys/{key_id}/rotate?tenant=t2",
            data={"grace_hours": "999", "csrf": token},
        )
        assert bad.status_code == 400
        rotated = browser.post(
            f"/console/settings/tenant-keys/{key_id}/rotate?tenant=t2",
            data={"grace_hours": "0", "csrf": token},
        )
        assert rotated.status_code == 200
        successor = _new_key(rotated.text)
        eventually_status(api, "/api/v1/tenants/t2/", key, 401)
        assert (
            api.get("/api/v1/tenants/t2/", headers={"Authorization": f"Bearer {successor}"}).status_code
            == 200
        )
        new_id = max(k["keyId"] for k in api.get("/api/v1/tenants/t2/tenant-keys/").json()["tenantKeys"])
        revoked = browser.post(
            f"/console/settings/tenant-keys/{new_id}/revoke?tenant=t2",
            data={"csrf": token},
            follow_redirects=False,
        )
        assert revoked.status_code == 303
        eventually_status(api, "/api/v1/tenants/t2/", successor, 401)
    with signed_in_as(settings, "ta1") as browser:
        assert browser.get("/console/settings/tenant-keys/?tenant=t2").status_code == 404
        assert "Keys of t1" in browser.get("/console/settings/tenant-keys/").text
    with signed_in_as(settings, "ga1") as browser:
        assert 'href="/console/settings/tenant-keys/"' not in browser.get("/console/").text
        assert browser.get("/console/settings/tenant-keys/").status_code == 403
    audited = {entry["object"] for entry in api.get("/api/v1/audit/").json()["auditEntries"]}
    assert f"tenant_key:{key[:10]}" in audited
