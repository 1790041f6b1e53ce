"""A real `switchboard serve` process on a free port, and reading which worker answered from its log."""

from __future__ import annotations

import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def server_log_path(data_dir: Path, port: int) -> Path:
    """Where running_server writes the log of the server on `port` with data in `data_dir`."""
    return data_dir.parent / f"server-{port}.log"


@contextmanager
def running_server(
    data_dir: Path, database_url: str, *extra: str, port: int | None = None
) -> Iterator[tuple[int, list[str]]]:
    """Start the server (on a free port unless told), wait until it accepts connections, stop it and
    hand back its log lines."""
    port = port or free_port()
    env = {**os.environ, "SWITCHBOARD_DATABASE_URL": database_url, "SWITCHBOARD_DATA_DIR": str(data_dir)}
    log_path = server_log_path(data_dir, port)
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "switchboard", "serve", "--port", str(port), *extra],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 60  # a loaded machine (a parallel run) starts it slowly
        while time.monotonic() < deadline:
            assert process.poll() is None, log_path.read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail(f"server did not start: {log_path.read_text()}")
        yield port, lines
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)
        lines.extend(log_path.read_text().splitlines())


def fresh_request(client: httpx2.Client, method: str, path: str, **kwargs: object) -> httpx2.Response:
    # A new connection per request, so the kernel spreads requests over both workers.
    headers = {**kwargs.pop("headers", {}), "Connection": "close"}  # type: ignore[dict-item]
    return client.request(method, path, headers=headers, **kwargs)  # type: ignore[arg-type]


def worker_pids(log: list[str], after: int = 0) -> set[str]:
    """The process ids of the workers that logged an access line, from line `after` on."""
    return {
        m.group(1)
        for line in log[after:]
        if (m := re.search(r"^\S+ \S+ (\d+) INFO switchboard\.access", line))
    }


def send_raw(port: int, chunks: Iterable[bytes], timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
    """Send the chunks on a fresh connection, stopping early once the server answers (a refusal
    comes before the request is all sent); the status, headers and body of the answer, read until
    the server closes the connection or the body is whole."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        for chunk in chunks:
            if select.select([sock], [], [], 0)[0]:
                break  # answered already
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
        reply = b""
        while b"\r\n\r\n" not in reply or len(reply.partition(b"\r\n\r\n")[2]) < _length(reply):
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                break
            if not data:
                break
            reply += data
    head, _, body = reply.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {
        name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)
    }
    return int(status_line.split(" ")[1]), headers, body


def _length(reply: bytes) -> int:
    head = reply.partition(b"\r\n\r\n")[0].lower()
    for line in head.split(b"\r\n"):
        if line.startswith(b"content-length:"):
            return int(line.split(b":")[1])
    return 1 << 62  # no length: until the server closes


def add_extension_410(client: httpx2.Client, auth: dict[str, str]) -> None:
    """Tenant `demo` with a user at extension 410 (ann@demo.example), made over the server's API."""
    for path, body in (
        ("/api/v1/tenants/", {"tenantId": "demo", "type": "Enterprise"}),
        ("/api/v1/tenants/demo/domains/", {"domain": "demo.example"}),
        ("/api/v1/tenants/demo/groups/", {"groupId": "g1"}),
        (
            "/api/v1/tenants/demo/groups/g1/users/",
            {"userId": "ann@demo.example", "firstName": "Ann", "lastName": "Lee", "extension": "410"},
        ),
    ):
        assert client.post(path, json=body, headers=auth).status_code == 201
