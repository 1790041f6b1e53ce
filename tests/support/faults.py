"""Shared by the fault suites: a killable `switchboard serve` process, initialised databases, a campaign."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
from sqlalchemy import Engine, create_engine

from switchboard.access import passwords
from switchboard.db.engine import Database, sync_url
from switchboard.system.bootstrap import initialise
from tests.support.server import free_port

LEAD_TEMPLATE = {
    "name": "faults",
    "leadFields": [{"name": "firstName", "required": True}, {"name": "phone", "type": "phone"}],
}
START_SECONDS = 60  # a loaded CI machine with two cores can take several seconds to import the app


class ServerProcess:
    """`switchboard serve --insecure-http` (plain HTTP on loopback) in a process of its own, which the
    test may SIGKILL and start again on the same data directory and database."""

    def __init__(self, data_dir: Path, database_url: str, **env: str) -> None:
        self.data_dir = data_dir
        self.database_url = database_url
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.logs: list[Path] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None, "already running"
        self.port = free_port()
        env = {
            **os.environ,
            "SWITCHBOARD_DATABASE_URL": self.database_url,
            "SWITCHBOARD_DATA_DIR": str(self.data_dir),
            "SWITCHBOARD_ARGON2_TIME_COST": "1",
            "SWITCHBOARD_ARGON2_MEMORY_KIB": "64",
            **self.env,
        }
        log_path = self.data_dir.parent / f"server-{self.port}.log"
        self.logs.append(log_path)
        with log_path.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "switchboard", "serve", "--insecure-http", "--port", str(self.port)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_SECONDS
        while True:
            assert self.process.poll() is None, self.log_text()
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                assert time.monotonic() < deadline, f"the server did not start: {self.log_text()}"
                time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, nothing buffered is written."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        assert self.process.returncode == -signal.SIGKILL

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def log_text(self) -> str:
        return "\n".join(path.read_text(errors="replace") for path in self.logs if path.exists())

    def client(self, key: str, timeout: float = 30.0) -> httpx2.Client:
        return httpx2.Client(
            base_url=self.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=timeout
        )


@contextmanager
def serving(data_dir: Path, database_url: str, **env: str) -> Iterator[ServerProcess]:
    server = ServerProcess(data_dir, database_url, **env)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def initialised(url: str) -> str:
    """Initialise the (empty, migrated) database at `url`; its global key."""
    passwords.configure(time_cost=1, memory_kib=64)
    db = Database(url)
    try:
        with db.transaction() as session:
            created = initialise(session)
    finally:
        db.engine.dispose()
    assert created is not None
    return created.global_api_key


def engine_of(url: str) -> Engine:
    return create_engine(sync_url(url))


def ok(response: httpx2.Response, status: int = 201) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def make_campaign(client: httpx2.Client) -> str:
    """Tenant t1 (domain, group g1) and a campaign; the campaign's leads path."""
    ok(client.post("/api/v1/tenants/", json={"tenantId": "t1", "type": "Enterprise"}))
    ok(client.post("/api/v1/tenants/t1/domains/", json={"domain": "t1.example"}))
    ok(client.post("/api/v1/tenants/t1/groups/", json={"groupId": "g1"}))
    template = ok(client.post("/api/v1/tenants/t1/campaign-templates/", json=LEAD_TEMPLATE))["id"]
    body = {"name": "c", "templateId": template}
    campaign = ok(client.post("/api/v1/tenants/t1/campaigns/", json=body))["id"]
    return f"/api/v1/tenants/t1/campaigns/{campaign}/leads/"


def lead_batch(prefix: str, size: int) -> dict[str, Any]:
    """`size` leads whose external ids start with `prefix`: one request, one transaction."""
    rows = [
        {"externalId": f"{prefix}{n:03}", "fields": {"firstName": "F", "phone": f"0390{n:06}"}}
        for n in range(size)
    ]
    return {"leads": rows, "allowDuplicates": True}
