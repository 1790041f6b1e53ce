"""A small model of Noojee's Java client 1.4.3 on the wire: every parameter in the query string, an
empty body even on POST, its three headers, status >= 300 thrown, a 404 thrown unread."""

from __future__ import annotations

import socket
import ssl
from urllib.parse import quote_plus

from starlette.testclient import TestClient

PREFIX = "/servicemanager/rest"
HEADERS = {
    "Content-Type": "application/x-www-form-urlencoded; charset=UTF-8",
    "User-Agent": "Java/17.0.2",
    "Accept": "text/html, image/gif, image/jpeg, */*; q=0.2",
}
# Issue 18's switch that makes every Noojee method accept GET like POST (system-wide).
ACCEPT_GET_PATH = "/api/v1/settings/"
ACCEPT_GET_FIELD = "noojeeAcceptGet"
YEALINK_AUTO_ANSWER = "Call-info:answer-after=0"  # as the client sends it for a Yealink phone


def encoded(value: str) -> str:
    """java.net.URLEncoder.encode(value, "UTF-8"): space as '+', and '*' left as it is."""
    return quote_plus(value, safe="*")


class JavaError(Exception):
    """What the client throws: the status, and the body unless it was a 404 (never read)."""

    def __init__(self, status: int, body: bytes | None) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body


def target(entity_method: str, key: str, query: list[str]) -> str:
    """The request target: apiKey first, then the query pieces exactly as given (already encoded,
    or deliberately not: `tag<value>` without '=', a team name with a raw space)."""
    return f"{PREFIX}/{entity_method}?" + "&".join([f"apiKey={key}", *query])


def send(client: TestClient, method: str, entity_method: str, key: str, query: list[str]) -> bytes:
    """One call through the in-process app; the client's default credential header is dropped (the
    key travels in the query string only, as the Java client sends it)."""
    request = client.build_request(method, target(entity_method, key, query), content=b"", headers=HEADERS)
    del request.headers["Authorization"]
    response = client.send(request)
    if response.status_code == 404:
        raise JavaError(404, None)
    if response.status_code >= 300:
        raise JavaError(response.status_code, response.content)
    return response.content


def send_raw(port: str | int, cafile: str, method: str, request_target: str) -> tuple[int, bytes]:
    """One request over TLS with the request line exactly as given (a raw space in it, say), as
    HttpURLConnection writes it; the status and body (Connection: close, read to the end)."""
    context = ssl.create_default_context(cafile=cafile)
    with (
        socket.create_connection(("127.0.0.1", int(port)), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        lines = [f"{method} {request_target} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
        lines += [f"{name}: {value}" for name, value in HEADERS.items()]
        lines += ["Content-Length: 0"] if method == "POST" else []
        tls.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        reply = b""
        while chunk := tls.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if b"transfer-encoding: chunked" in head.lower():
        body = _unchunk(body)
    return status, body


def _unchunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out, data = out + data[:size], data[size + 2 :]
    return out
