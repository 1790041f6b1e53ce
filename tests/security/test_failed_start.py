"""A `serve` that cannot start (its port is taken) leaves the running server's shared data untouched."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
from pathlib import Path

import httpx2
import pytest

from tests.support.server import add_extension_410, running_server

pytestmark = pytest.mark.server


def test_second_serve_on_a_busy_port_exits_without_ending_the_running_servers_calls(
    database_url: str, global_key: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    with running_server(data_dir, database_url) as (port, _log):
        cert = data_dir / "tls" / "localhost.crt"
        auth = {"Authorization": f"Bearer {global_key}"}
        with httpx2.Client(
            base_url=f"https://127.0.0.1:{port}",
            verify=ssl.create_default_context(cafile=str(cert)),
            headers=auth,
            timeout=30,
        ) as client:
            add_extension_410(client, auth)
            call = client.post("/api/v1/simulator/calls/", json={"to": "410", "from": "+61390000001"}).json()
            unique_id = call["uniqueId"]
            up = client.post(f"/api/v1/simulator/calls/{unique_id}/answer/")
            assert (up.status_code, up.json()["state"]) == (200, "Connected")

            second = subprocess.run(
                [sys.executable, "-m", "switchboard", "serve", "--port", str(port)],
                env={
                    **os.environ,
                    "SWITCHBOARD_DATABASE_URL": database_url,
                    "SWITCHBOARD_DATA_DIR": str(data_dir),
                },
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert second.returncode == 3, second.stderr
            assert "address already in use" in second.stderr.lower(), second.stderr

            # The running server's call is still up, in the shared database and to its commands.
            still = client.get(f"/api/v1/calls/{unique_id}/")
            assert still.status_code == 200
            assert (still.json()["state"], still.json()["endedAt"]) == ("Connected", None)
            assert client.get("/api/v1/calls/", params={"state": "live"}).json()["calls"][0]["uniqueId"] == (
                unique_id
            )
            recording = client.post(f"/api/v1/calls/{unique_id}/recording/start/")
            assert recording.status_code == 200, recording.text
            hung_up = client.post(f"/api/v1/calls/{unique_id}/hangup/")
            assert hung_up.status_code == 200, hung_up.text
