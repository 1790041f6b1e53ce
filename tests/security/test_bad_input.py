"""Bad input: oversized bodies, deep JSON, invalid UTF-8, huge query strings, header injection
through webhook URLs and formulas in CSV exports each end in a clear 4xx or a safe output."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from switchboard.access.principal import CLI_PRINCIPAL
from switchboard.bulk import jobs
from switchboard.bulk.formula_guard import guard, unguard
from switchboard.bulk.importer import Importer
from switchboard.db.engine import Database
from switchboard.kit.pagination import encode_cursor
from switchboard.settings import Settings
from switchboard.web.exception_handlers import UNREADABLE_BODY
from switchboard.web.request_limits import MAX_QUERY_BYTES
from tests.support.bulk import export_to
from tests.support.clients import make_client
from tests.support.factories import make_domain, make_group, make_tenant, make_user
from tests.support.webhook_receiver import CLOSED_HOOK

LIMIT = 4096
JSON = {"Content-Type": "application/json"}
NOOJEE_LIST = "/servicemanager/rest/CampaignAPI/getCampaignList"


@pytest.fixture
def small(settings: Settings, global_key: str) -> Iterator[TestClient]:
    """The app with a 4 KiB body limit, holding the global key."""
    with make_client(settings.model_copy(update={"max_body_bytes": LIMIT})) as client:
        client.headers["Authorization"] = f"Bearer {global_key}"
        yield client


def _problem(response: httpx2.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = response.json()
    assert body["status"] == status
    return body


def _tenant_count(client: TestClient) -> int:
    total: int = client.get("/api/v1/tenants/").json()["total"]
    return total


def test_a_body_over_the_limit_is_413_announced_or_streamed_and_writes_nothing(small: TestClient) -> None:
    padding = " " * LIMIT
    announced = small.post("/api/v1/tenants/", content=f'{{"tenantId": "big", {padding}}}', headers=JSON)
    assert f"larger than {LIMIT} bytes" in str(_problem(announced, 413)["detail"])

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit counts what arrives
        yield b'{"tenantId": "big", "type": "Enterprise"'
        for _ in range(LIMIT // 512 + 1):
            yield b" " * 512
        yield b"}"

    _problem(small.post("/api/v1/tenants/", content=chunks(), headers=JSON), 413)
    assert _tenant_count(small) == 0
    # The Noojee surface answers in its own envelope; the code is still the status.
    noojee = small.post(NOOJEE_LIST, data={"apiKey": "x" * (LIMIT + 1)})
    assert noojee.status_code == 413
    assert noojee.json()["Code"] == -413
    # Just under the limit is fine.
    padded = '{"tenantId": "fits", "type": "Enterprise"' + " " * 3500 + "}"
    fits = small.post("/api/v1/tenants/", content=padded, headers=JSON)
    assert fits.status_code == 201, fits.text


def test_uploads_keep_their_own_larger_limit(small: TestClient) -> None:
    records = [b'{"kind": "tenant", "tenantId": "up%d", "type": "Enterprise"}\n' % n for n in range(200)]
    body = b"".join(records)
    assert len(body) > LIMIT
    started = small.post("/api/v1/import/", content=body, headers={"Content-Type": "application/x-ndjson"})
    assert started.status_code == 202, started.text
    assert jobs.join_running(20), "the import job was still running"  # before the database goes


@pytest.mark.parametrize("depth", [1_100, 100_000])
def test_deeply_nested_json_is_400(api: TestClient, depth: int) -> None:
    arrays = b"[" * depth + b"]" * depth
    objects = b'{"a":' * depth + b"1" + b"}" * depth
    for body in (arrays, objects):
        refused = _problem(api.post("/api/v1/tenants/", content=body, headers=JSON), 400)
        assert refused["errors"] == [{"field": "body", "reason": UNREADABLE_BODY}]
        searched = _problem(api.post("/api/v1/search/objects/", content=body, headers=JSON), 400)
        # The search reads its body itself, and at most 16 KiB of it.
        reason = "is not valid JSON" if len(body) <= 16 * 1024 else "is larger than 16384 bytes"
        assert searched["errors"] == [{"field": "body", "reason": reason}]
    assert api.get("/api/v1/tenants/").status_code == 200  # and the server carries on


def test_invalid_utf8_is_400_wherever_it_arrives(api: TestClient, anonymous: TestClient) -> None:
    bad = b'{"tenantId": "t\xff\xfe1", "type": "Enterprise"}'
    refused = _problem(api.post("/api/v1/tenants/", content=bad, headers=JSON), 400)
    assert refused["errors"] == [{"field": "body", "reason": UNREADABLE_BODY}]
    _problem(api.post("/api/v1/search/objects/", content=bad, headers=JSON), 400)
    query = _problem(api.get("/api/v1/tenants/?limit=%ff%fe"), 400)
    assert query["errors"][0]["field"] == "limit"  # type: ignore[index]
    # An id that is not UTF-8 names no object: the same 404 as any missing one.
    assert api.get("/api/v1/tenants/%ff%fe/").json() == api.get("/api/v1/tenants/nothing/").json()
    assert api.get("/api/v1/tenants/%ff%fe/").status_code == 404
    noojee = anonymous.post(  # the key in the form is the only credential
        NOOJEE_LIST, content=b"apiKey=\xff\xfe", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert 400 <= noojee.status_code < 500
    assert _tenant_count(api) == 0


def test_a_huge_query_string_is_414(api: TestClient) -> None:
    body = _problem(api.get("/api/v1/tenants/", params={"x": "a" * (MAX_QUERY_BYTES + 1)}), 414)
    assert str(MAX_QUERY_BYTES) in str(body["detail"])
    # A search by query parameters of an ordinary size still works.
    assert api.get("/api/v1/search/objects/", params={"tenant_id": "t1"}).status_code == 404


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://hooks.example/a\r\nX-Injected: 1", "line break"),
        ("https://hooks.example/a\nX-Injected: 1", "line break"),
        ("https://hooks.example\r\n.evil/", "line break"),
        ("https://hooks.example/a\tb", "whitespace or control"),
        ("https://hooks.example/a b", "whitespace or control"),
        ("https://hooks.example/\x00", "NUL"),  # refused where all input enters (web/nul_guard.py)
    ],
)
def test_a_webhook_url_cannot_carry_a_header(api: TestClient, url: str, reason: str) -> None:
    refused = _problem(api.post("/api/v1/webhooks/", json={"url": url, "eventTypes": ["*"]}), 400)
    assert refused["errors"][0]["field"] == "url"  # type: ignore[index]
    assert reason in refused["errors"][0]["reason"]  # type: ignore[index]
    assert api.get("/api/v1/webhooks/").json()["webhooks"] == []


def test_an_encoded_line_break_stays_encoded_on_the_wire(api: TestClient) -> None:
    url = f"{CLOSED_HOOK}/in%0d%0aX-Injected:%201"
    created = api.post("/api/v1/webhooks/", json={"url": url, "eventTypes": ["*"]})
    assert created.status_code == 201, created.text
    assert created.json()["url"] == url
    # The request line the delivery sends: the break is still percent-encoded, so no header.
    target = httpx2.URL(created.json()["url"])
    assert b"\r" not in target.raw_path
    assert b"\n" not in target.raw_path
    assert target.raw_path == b"/in%0d%0aX-Injected:%201"


FORMULAS = [
    '=HYPERLINK("https://evil.example","x")',
    "+SUM(1,2)",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1)",
    "\t=1+1",
    "'=already quoted",
]


def test_csv_exports_neutralise_formulas_and_import_them_back_unchanged(
    db: Database, api: TestClient, empty_db: Database, tmp_path: Path
) -> None:
    make_tenant(api, "t1")
    make_domain(api, "t1", "t1.example")
    make_group(api, "t1", "g1")
    for n, title in enumerate(FORMULAS):
        make_user(api, "t1", "g1", f"u{n}@t1.example", title=title)
    make_user(api, "t1", "g1", "phone@t1.example", title="+61 3 9000 0001")
    folder = export_to(db, tmp_path / "csv")
    with (folder / "users.csv").open(newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    titles = [row["title"] for row in rows]
    assert len(titles) == len(FORMULAS) + 1
    for cell in titles:
        # A spreadsheet runs a cell as a formula when it starts with one of these.
        assert not cell.startswith(("=", "@", "\t", "\r")), cell
        assert not cell.startswith(("+", "-")) or cell == "+61 3 9000 0001", cell
    loaded = Importer(empty_db, CLI_PRINCIPAL).load(sorted(folder.iterdir()), tmp_path / "checkpoints")
    assert loaded.problem_count == 0
    again = export_to(empty_db, tmp_path / "again.jsonl").read_text()
    first = export_to(db, tmp_path / "first.jsonl").read_text()
    assert again == first  # every title came back exactly as it was


@given(st.text())
def test_guarding_a_cell_is_undone_exactly(cell: str) -> None:
    assert unguard(guard(cell)) == cell
    guarded = guard(cell)
    if guarded.startswith(("=", "@", "\t", "\r", "+", "-")):
        # Left as it was only because it is a signed number or a phone number.
        assert guarded == cell
        assert set(cell) <= set("0123456789 ().,-+"), cell


@pytest.mark.parametrize("digit", ["²", "٣", "9" * 19])
def test_a_cursor_of_non_ascii_or_huge_digits_is_400(api: TestClient, digit: str) -> None:
    # str.isdigit() admits '²' and '٣', which int() refuses: every list with an id cursor once
    # answered them 500 (webhooks, their deliveries, import jobs, tenant keys).
    make_tenant(api, "t1")
    created = api.post("/api/v1/webhooks/", json={"url": f"{CLOSED_HOOK}/x", "eventTypes": ["*"]})
    assert created.status_code == 201, created.text
    hook = created.json()["id"]
    lists = {
        "/api/v1/webhooks/": digit,
        f"/api/v1/webhooks/{hook}/deliveries/": digit,
        "/api/v1/import/": encode_cursor(digit),
        "/api/v1/tenants/t1/tenant-keys/": encode_cursor(digit),
    }
    for path, cursor in lists.items():
        response = api.get(path, params={"cursor": cursor})
        assert response.status_code == 400, (path, response.status_code, response.text)
        assert response.json()["errors"] == [
            {"field": "cursor", "reason": "is not a cursor returned by this list"}
        ], path
