"""Request lines with raw spaces in the query (Noojee's Java client): repaired before parsing,
so `getActiveRosters?teamName=Sales Team` reaches the app instead of the parser's 400."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import httpx2
import pytest

from switchboard.web.request_line import mend_request_line
from tests.support.server import running_server


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"GET /a?teamName=Sales Team HTTP/1.1", b"GET /a?teamName=Sales%20Team HTTP/1.1"),
        (b"POST /a?x=a b c&y=d HTTP/1.0", b"POST /a?x=a%20b%20c&y=d HTTP/1.0"),
        (b"GET /a?teamName=Sales%20Team HTTP/1.1", b"GET /a?teamName=Sales%20Team HTTP/1.1"),
        ("GET /a?n=Bär HTTP/1.1".encode(), b"GET /a?n=B%C3%A4r HTTP/1.1"),  # raw UTF-8 (APIO's UIs)
        (b"Host: example HTTP/1.1", b"Host: example HTTP/1.1"),  # not a request line: unchanged
        (b"GET /a b", b"GET /a b"),  # no version: the parser decides
    ],
)
def test_spaces_and_raw_bytes_in_the_target_are_encoded(line: bytes, expected: bytes) -> None:
    assert mend_request_line(line) == expected


def _raw(sock: socket.socket, method: str, target: str, key: str) -> dict[str, Any]:
    request = f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {key}\r\nContent-Length: 0\r\n"
    sock.sendall(f"{request}\r\n".encode())
    reply = b""
    while b"\r\n\r\n" not in reply:
        reply += sock.recv(65536)
    head, _, body = reply.partition(b"\r\n\r\n")
    length = int(
        next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")).split(b":")[1]
    )
    while len(body) < length:
        body += sock.recv(65536)
    assert head.startswith(b"HTTP/1.1 "), head
    return {"status": int(head.split(b" ")[1]), "body": json.loads(body)}


@pytest.mark.server
def test_a_raw_space_reaches_the_app(database_url: str, global_key: str, tmp_path: Path) -> None:
    with running_server(tmp_path / "data", database_url, "--insecure-http") as (port, _):
        base = f"http://127.0.0.1:{port}"
        auth = {"X-API-Key": global_key}
        assert (
            httpx2.post(
                f"{base}/api/v1/tenants/", json={"tenantId": "t1", "type": "Enterprise"}, headers=auth
            ).status_code
            == 201
        )
        assert (
            httpx2.post(
                f"{base}/api/v1/tenants/t1/teams/", json={"name": "Sales Team"}, headers=auth
            ).status_code
            == 201
        )
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            active = "/servicemanager/rest/rosterApi/getActiveRosters?teamName=Sales Team"
            first = _raw(sock, "POST", active, global_key)
            assert (first["status"], first["body"]["code"], first["body"]["entities"]) == (200, 0, [])
            # The same keep-alive connection carries a second raw line (a space in the path).
            second = _raw(sock, "GET", "/api/v1/tenants/t1/teams/Sales Team/roster/", global_key)
            assert (second["status"], second["body"]["team"]) == (200, "Sales Team")
