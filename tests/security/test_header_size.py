"""Header size: a request head (request line and headers) past 64 KiB is answered 431 (414 for the
request line alone) by `switchboard serve` itself, before it is read whole, and the server goes on;
a large head within the limit still reaches the app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from switchboard.web.request_line import MAX_HEAD_BYTES
from tests.support.server import running_server, send_raw

KIB = 1024


def _huge_header(total: int) -> list[bytes]:
    """One header of `total` bytes, sent 64 KiB at a time (never finished: the refusal comes first)."""
    return [
        b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ",
        *[b"a" * (64 * KIB)] * (total // (64 * KIB)),
    ]


def _filler(count: int, size: int) -> bytes:
    return b"".join(b"X-Filler-%d: %s\r\n" % (n, b"b" * size) for n in range(count))


def _many_headers(count: int, size: int) -> list[bytes]:
    return [b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + _filler(count, size) + b"\r\n"]


REFUSED = {
    "one 16 MiB header": (_huge_header(16 * 1024 * KIB), 431),
    "one header just over the limit": (
        [b"GET / HTTP/1.1\r\nX-Big: " + b"c" * MAX_HEAD_BYTES + b"\r\n\r\n"],
        431,
    ),
    "a 100 KiB header name": ([b"GET / HTTP/1.1\r\n" + b"N" * (100 * KIB) + b": v\r\n\r\n"], 431),
    "many headers": (_many_headers(200, 1 * KIB), 431),
    "many small headers": (_many_headers(10_000, 8), 431),
    "headers after a body-carrying request line": (
        [b"POST /api/v1/tenants/ HTTP/1.1\r\nContent-Length: 2\r\n", _filler(100, KIB), b"\r\n{}"],
        431,
    ),
    "a 100 KiB request line": ([b"GET /" + b"p" * (100 * KIB) + b" HTTP/1.1\r\n\r\n"], 414),
}


@pytest.mark.server
def test_an_oversized_request_head_is_refused_cleanly(
    database_url: str, global_key: str, tmp_path: Path
) -> None:
    with running_server(tmp_path / "data", database_url, "--insecure-http") as (port, log):
        for name, (chunks, expected) in REFUSED.items():
            status, headers, body = send_raw(port, chunks)
            assert status == expected, name
            assert headers["content-type"] == "application/problem+json", name
            assert headers["connection"] == "close", name
            problem = json.loads(body)
            assert problem["status"] == expected, name
            assert str(MAX_HEAD_BYTES) in problem["detail"], name
        # Within the limit the app answers: 60 KiB of headers, and a body after 48 KiB of them.
        status, _, body = send_raw(port, _many_headers(60, KIB))
        assert (status, json.loads(body)["status"]) == (200, "ok")
        tenant = json.dumps({"tenantId": "t1", "type": "Enterprise"}).encode()
        post = (
            b"POST /api/v1/tenants/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: %s\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n%s\r\n%s"
            % (
                global_key.encode(),
                len(tenant),
                _filler(48, KIB),
                tenant,
            )
        )
        status, _, body = send_raw(port, [post])
        assert status == 201, body
        assert send_raw(port, [b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"])[0] == 200
    assert not [line for line in log if "Traceback" in line or " 500 " in line]
    assert sum("Request head over" in line for line in log) == len(REFUSED)
