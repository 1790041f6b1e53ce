"""The front door: / leads to the console, /api/v1/ is a public index whose every link answers, the
console's icon is served, and none of it writes an audit line."""

from __future__ import annotations

import re

from sqlalchemy import select
from starlette.testclient import TestClient

from switchboard import __version__
from switchboard.audit.models import AuditEntry
from switchboard.db.engine import Database
from switchboard.kit.entry_points import INDEX_LINKS
from switchboard.settings import Settings
from tests.support.access_world import build_world
from tests.support.clients import make_client
from tests.support.console import signed_in_as

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"
ICON_LINK = re.compile(r'<link rel="icon" href="([^"]+)"')


def _audit_lines(db: Database, *clients: TestClient) -> list[tuple[str, str, int]]:
    """The audit log as stored, once every client's buffered entries are written."""
    for client in clients:
        client.app.state.services.audit.flush()  # type: ignore[attr-defined]
    with db.transaction() as session:
        return [(e.decision, e.operation, e.status) for e in session.scalars(select(AuditEntry))]


def test_the_root_leads_to_the_console(anonymous: TestClient) -> None:
    root = anonymous.get("/", follow_redirects=False)
    assert root.status_code == 302
    assert root.headers["location"] == "/console/"  # a path: never a host taken from the request
    spoofed = anonymous.get("/", headers={"Host": "evil.example"}, follow_redirects=False)
    assert spoofed.headers["location"] == "/console/"
    assert anonymous.get("/").url.path == "/console/sign-in"
    for path in ("/", "/api/v1/", "/favicon.ico"):  # `curl -I` too
        assert anonymous.head(path, follow_redirects=False).status_code in (200, 302), path


def test_the_api_index_is_public_and_the_same_for_everyone(
    anonymous: TestClient, api: TestClient, global_key: str
) -> None:
    index = anonymous.get("/api/v1/")
    assert index.status_code == 200
    assert index.headers["content-type"] == "application/json"
    body = index.json()
    assert body["name"] == "Switchboard"
    assert body["version"] == __version__
    links = body["links"]
    assert {name: link["href"] for name, link in links.items()} == {
        "console": "/console/",
        "docs": "/api/v1/docs",
        "openapi": "/api/v1/openapi.json",
        "login": "/api/v1/auth/login/",
        "health": "/healthz",
        "ready": "/readyz",
        "metrics": "/metrics",
        "apioLogin": "/api/v1/login/",
        "apioSearch": "/api/v1/search/objects/",
        "noojee": "/api/v1/docs#/noojee",
    }
    assert all(link["title"] and link["method"] in ("GET", "POST") for link in links.values())
    # Without its slash it is answered in place (no redirect), and a credential changes nothing.
    bare = anonymous.get("/api/v1", follow_redirects=False)
    assert (bare.status_code, bare.json()) == (200, body)
    assert api.get("/api/v1/").json() == body
    # Not an operation of the API: the OpenAPI document is what it links to.
    assert "/api/v1/" not in anonymous.get("/api/v1/openapi.json").json()["paths"]


def test_a_browser_gets_the_index_as_a_page(anonymous: TestClient) -> None:
    page = anonymous.get("/api/v1/", headers={"Accept": BROWSER_ACCEPT})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["vary"] == "Accept"
    assert "default-src 'none'" in page.headers["content-security-policy"]
    for link in INDEX_LINKS:
        assert f'<a href="{link.path}">{link.name}</a>' in page.text
    # curl's */*, a JSON client, and JSON preferred by weight: JSON.
    for accept in ("*/*", "application/json", "text/html;q=0.5, application/json", ""):
        assert anonymous.get("/api/v1/", headers={"Accept": accept}).headers["content-type"] == (
            "application/json"
        ), accept


def test_every_link_of_the_index_answers(anonymous: TestClient) -> None:
    for name, link in anonymous.get("/api/v1/").json()["links"].items():
        path = link["href"].split("#")[0]
        answer = anonymous.request(link["method"], path, json={}, follow_redirects=False)
        # A public page (200), the console's sign-in redirect, or a refusal of the empty request.
        assert answer.status_code in (200, 303, 400, 401), (name, path, answer.status_code)


def test_a_console_page_and_its_icon_write_no_audit_line(
    api: TestClient, global_key: str, settings: Settings, db: Database
) -> None:
    build_world(api, global_key)
    with signed_in_as(settings, "ta1") as browser:
        before = _audit_lines(db, api, browser)
        page = browser.get("/console/")  # a browser's page view: the page, then its icon
        favicon = browser.get("/favicon.ico")
        assert [line for line in _audit_lines(db, api, browser) if line not in before] == []
        assert page.status_code == 200
        assert favicon.status_code == 200
        assert favicon.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
        icons = ICON_LINK.findall(page.text)
        assert icons  # the page names its icon, so a browser need not guess /favicon.ico
        for href in icons:
            icon = browser.get(href)
            assert icon.status_code == 200, href
            assert icon.headers["content-type"].startswith("image/"), href
            assert icon.headers["cache-control"] == "max-age=86400"
        for path in ("/", "/api/v1/", "/api/v1"):
            assert browser.get(path, follow_redirects=False).status_code in (200, 302)
        assert [line for line in _audit_lines(db, api, browser) if line not in before] == []


def test_the_index_stays_behind_the_allowlist(settings: Settings, global_key: str) -> None:
    outside = {"X-Forwarded-For": "203.0.113.7"}  # through a trusted proxy, from outside the allowlist
    with make_client(settings, client=("10.0.0.5", 40000)) as client:
        for path in ("/", "/api/v1/", "/favicon.ico"):
            assert client.get(path, headers=outside, follow_redirects=False).status_code == 403, path
