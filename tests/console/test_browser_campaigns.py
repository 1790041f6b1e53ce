"""Campaigns and leads in a real browser against a real server: the list, a campaign's leads, and a
CSV import through the page, with JavaScript (upload progress) and without it (the import's own page,
reached by a redirect, reloading itself)."""

from __future__ import annotations

import http.client
import re
import ssl
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

from starlette.testclient import TestClient

from tests.support.access_world import PASSWORD
from tests.support.browser import ONE_ENGINE, browser, require_browser, server, shot, sign_in
from tests.support.console import csrf_of
from tests.support.contact_centre import lead_campaigns
from tests.support.factories import created

__all__ = ["browser", "server"]  # fixtures, used by name
T1 = "/api/v1/tenants/t1"

require_browser()
pytestmark = ONE_ENGINE


def lead_csv(count: int, first: int = 0) -> bytes:
    """`count` leads; row 3 has no phone number and row 5 repeats row 1's external id."""
    lines = ["firstName,phone,email,njExternalLeadId"]
    for n in range(first, first + count):
        phone = "" if n == first + 3 else f"+61 3 {n // 10000:04} {n % 10000:04}"
        external_id = f"crm-{first + 1}" if n == first + 5 else f"crm-{n}"
        lines.append(f"Lead {n},{phone},lead{n}@example.com,{external_id}")
    return ("\n".join(lines) + "\n").encode()


def lead_total(api: TestClient, campaign: int) -> int:
    total: int = api.get(f"{T1}/campaigns/{campaign}/leads/").json()["total"]
    return total


def test_an_administrator_imports_a_csv_with_upload_progress(
    api: TestClient, global_key: str, server: str, browser: Any
) -> None:
    s = lead_campaigns(api, global_key)
    rows = [
        {"externalId": "vip-1", "fields": {"firstName": "Ann", "phone": "+61 3 9000 0001"}, "priority": 1},
        {
            "externalId": "vip-2",
            "fields": {"firstName": "Bob", "mobile": "0412 345 678"},
            "disposition": "Sale",
        },
    ]
    created(api.post(s["path"], json={"leads": rows}), 200)
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1280, "height": 800})
    page = sign_in(context, server, "ta1")
    page.get_by_role("link", name="Campaigns", exact=True).click()
    page.get_by_label("Name contains").fill("ta")
    page.get_by_role("button", name="Search").click()
    assert page.locator("tbody tr").count() == 2
    shot(page, "40-campaigns")
    page.get_by_role("link", name="TA-0").click()
    page.get_by_label("Search").fill("ann")
    page.get_by_role("button", name="Search").click()
    assert "vip-1" in page.locator("tbody").inner_text()
    assert "vip-2" not in page.locator("tbody").inner_text()
    shot(page, "41-campaign-leads")
    page.get_by_role("link", name="Import leads").click()
    shot(page, "42-campaign-import")
    page.get_by_label("CSV file", exact=True).set_input_files(
        {"name": "leads.csv", "mimeType": "text/csv", "buffer": lead_csv(2500)}
    )
    page.get_by_role("button", name="Import").click()
    page.get_by_text("Inserted 2,498 leads.").wait_for(timeout=60_000)
    # The script posted it in the background (upload progress), then went to the import's page.
    assert re.search(rf"/console/campaigns/{s['campaign']}/imports/[0-9a-f]{{32}}\?tenant=t1$", page.url)
    failed = page.locator("table.failed tbody").inner_text()
    assert re.search(r"^5\s+crm-3\s+no phone number \(102\)\s+the lead has no number", failed, re.M)
    assert re.search(r"^7\s+crm-1\s+njExternalLeadId already used \(112\)", failed, re.M)
    assert page.locator(".import-progress p:visible").inner_text().startswith("Done: 2,500 rows read.")
    shot(page, "43-import-result")
    assert lead_total(api, s["campaign"]) == 2500
    page.reload()  # post/redirect/get: a reload shows the import again, and imports nothing
    assert "Inserted 2,498 leads." in page.locator("main").inner_text()
    assert lead_total(api, s["campaign"]) == 2500
    page.get_by_role("link", name="See the campaign's leads").click()
    assert "2,500 leads." in page.content()
    context.close()


def test_an_agent_imports_on_a_phone_without_javascript(
    api: TestClient, global_key: str, server: str, browser: Any
) -> None:
    s = lead_campaigns(api, global_key)
    context = browser.new_context(
        ignore_https_errors=True, viewport={"width": 390, "height": 844}, java_script_enabled=False
    )
    page = sign_in(context, server, "agent")
    page.get_by_role("link", name="Campaigns", exact=True).click()
    assert sorted(page.locator("tbody td:first-child").all_inner_texts()) == ["TA-0", "TA-1"]
    assert page.get_by_role("heading", name="New campaign").count() == 0
    shot(page, "44-campaigns-agent-phone")
    page.get_by_role("link", name="TA-0").click()
    page.get_by_role("link", name="Import leads").click()
    page.get_by_label("CSV file", exact=True).set_input_files(
        {"name": "contacts.csv", "mimeType": "text/csv", "buffer": b"firstName,shoeSize\nAnn,9\n"}
    )
    page.get_by_role("button", name="Import").click()
    error = page.locator("#lead-file-error")
    assert "'shoeSize', which the campaign's template does not have" in error.inner_text()
    assert page.get_by_label("CSV file", exact=True).get_attribute("aria-invalid") == "true"
    shot(page, "45-import-refused-phone")
    page.get_by_label("CSV file", exact=True).set_input_files(
        {"name": "leads.csv", "mimeType": "text/csv", "buffer": lead_csv(8000)}
    )
    page.get_by_role("button", name="Import").click()
    # The form's redirect: the import's page, which reloads itself (<noscript> refresh) until it ends.
    assert re.search(rf"/console/campaigns/{s['campaign']}/imports/[0-9a-f]{{32}}\?tenant=t1$", page.url)
    progress = page.locator(".import-progress > p:visible")
    progress.first.wait_for()  # the page may be reloading itself at this moment
    assert progress.count() == 1
    shot(page, "46-import-progress-phone")
    page.get_by_text("Inserted 7,998 leads.").wait_for(timeout=60_000)
    assert progress.inner_text() == "Done: 8,000 rows read."
    shot(page, "47-import-result-phone")
    assert lead_total(api, s["campaign"]) == 7998
    page.reload()
    assert progress.inner_text() == "Done: 8,000 rows read."
    assert lead_total(api, s["campaign"]) == 7998
    page.get_by_role("link", name="See the campaign's leads").click()
    page.get_by_label("Search").fill("+61 3 0000 0011")
    page.get_by_role("button", name="Search").click()
    assert page.locator("tbody td:nth-child(2)").all_inner_texts() == ["crm-11"]
    shot(page, "48-campaign-leads-phone")
    context.close()


class RawClient:
    """Just enough HTTPS client to see each answer as it is, redirects included (cookies by hand)."""

    def __init__(self, base: str) -> None:
        address = urlsplit(base)
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # the test server's self-signed certificate
        self.connection = http.client.HTTPSConnection(address.hostname or "", address.port, context=context)
        self.cookies: dict[str, str] = {}

    def send(self, method: str, path: str, body: bytes = b"", content_type: str = "") -> Any:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if content_type:
            headers["Content-Type"] = content_type
        self.connection.request(method, path, body=body or None, headers=headers)
        answer = self.connection.getresponse()
        for header in answer.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return answer

    def text(self, path: str) -> str:
        answer = self.send("GET", path)
        return str(answer.read().decode())

    def form(self, path: str, fields: dict[str, str]) -> Any:
        body = urlencode(fields).encode()
        return self.send("POST", path, body, "application/x-www-form-urlencoded")

    def upload(self, path: str, fields: dict[str, str], content: bytes) -> Any:
        boundary = "----switchboard-test-boundary"
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            for name, value in fields.items()
        ]
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="leads.csv"\r\n'
            "Content-Type: text/csv\r\n\r\n".encode()
            + content
            + f"\r\n--{boundary}--\r\n".encode()
        )
        return self.send("POST", path, b"".join(parts), f"multipart/form-data; boundary={boundary}")


def test_the_upload_redirects_to_the_imports_page_which_follows_it(
    api: TestClient, global_key: str, server: str
) -> None:
    """Over a real connection: the upload answers 303 at once (before the rows are written), and the
    import's page, asked for again and again, shows it under way, then done, having imported once."""
    s = lead_campaigns(api, global_key)
    client = RawClient(server)
    token = csrf_of(client.text("/console/sign-in"))
    signed_in = client.form("/console/sign-in", {"username": "ta1", "password": PASSWORD, "csrf": token})
    signed_in.read()
    assert signed_in.status == 303
    path = f"/console/campaigns/{s['campaign']}/"
    token = csrf_of(client.text(f"{path}?tenant=t1&tab=import"))
    answer = client.upload(f"{path}import?tenant=t1", {"csrf": token, "mode": "insert"}, lead_csv(20_000))
    answer.read()
    assert answer.status == 303
    location = answer.getheader("Location")
    assert re.fullmatch(rf"{path}imports/[0-9a-f]{{32}}\?tenant=t1", location)
    seen = []
    deadline = time.monotonic() + 120
    while not seen or seen[-1][0] == "running":
        assert time.monotonic() < deadline
        status = re.search(r'data-status="(\w+)" data-done="(\d+)"', page := client.text(location))
        assert status, page[-2000:]
        seen.append((status.group(1), int(status.group(2))))
        time.sleep(0.05)
    assert seen[0][0] == "running"  # the redirect came before the import ended
    assert seen[-1] == ("done", 20_000)
    assert "Inserted 19,998 leads." in page
    assert "Inserted 19,998 leads." in client.text(location)
    client.connection.close()
    assert lead_total(api, s["campaign"]) == 19_998
