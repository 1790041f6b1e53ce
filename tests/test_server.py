"""A real `switchboard serve` process: HTTPS with its own certificate, and nothing secret in its log."""

from __future__ import annotations

import json
import os
import re
import ssl
import subprocess
import sys
from pathlib import Path

import httpx2
import pytest

from tests.support.server import add_extension_410, running_server, server_log_path

pytestmark = pytest.mark.server


def test_https_with_a_self_signed_certificate_and_redacted_logs(
    database_url: str, global_key: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    with running_server(data_dir, database_url) as (port, log):
        cert = data_dir / "tls" / "localhost.crt"
        assert cert.exists()
        assert oct((data_dir / "tls" / "localhost.key").stat().st_mode)[-3:] == "600"
        base = f"https://127.0.0.1:{port}"
        with httpx2.Client(verify=ssl.create_default_context(cafile=str(cert)), base_url=base) as client:
            created = client.post(
                "/api/v1/tenants/",
                json={"tenantId": "demo", "type": "Enterprise"},
                headers={"Authorization": f"Bearer {global_key}"},
            )
            assert created.status_code == 201
            listed = client.get("/api/v1/tenants/", headers={"Authorization": f"Bearer {global_key}"})
            assert listed.json()["tenants"][0]["tenantId"] == "demo"
            assert client.get(f"/api/v1/tenants/?apiKey={global_key}").status_code == 401
            noojee = client.post(
                f"/servicemanager/rest/CallManagementAPI/stop?extenOrUniqueId=410&apiKey={global_key}"
            )
            assert noojee.status_code == 404
            system = {"Authorization": f"Bearer {global_key}"}
            password = "a long enough password"
            account = {"username": "ann", "password": password, "role": "system"}
            assert client.post("/api/v1/accounts/", json=account, headers=system).status_code == 201
            token = client.post("/api/v1/auth/login", json={"username": "ann", "password": password}).json()
            user_key = client.post(
                "/api/v1/accounts/ann/api-keys/", json={"name": "k"}, headers=system
            ).json()["key"]
            secrets = [global_key, token["accessToken"], user_key, password]
            for secret in secrets[1:3]:
                client.get(
                    f"/api/v1/tenants/?apiKey={secret}&token={secret}",
                    headers={"Authorization": f"Bearer {secret}"},
                )
                client.post(f"/servicemanager/rest/CampaignAPI/getCampaignList?apiKey={secret}")
        with pytest.raises(httpx2.HTTPError):
            httpx2.get(f"http://127.0.0.1:{port}/api/v1/tenants/", timeout=3)
    text = "\n".join(log)
    for secret in secrets:
        assert secret not in text
    assert "apiKey=[REDACTED]" in text
    assert '"GET /api/v1/tenants/" 200' in text
    assert f"  console: https://127.0.0.1:{port}/console/" in text
    assert f"clients may trust {cert}" in text  # the self-signed certificate, named


def test_certificate_is_reused_across_restarts(database_url: str, global_key: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with running_server(data_dir, database_url):
        first = (data_dir / "tls" / "localhost.crt").read_bytes()
    with running_server(data_dir, database_url):
        assert (data_dir / "tls" / "localhost.crt").read_bytes() == first


def test_development_mode_serves_plain_http_on_loopback_only(
    database_url: str, global_key: str, tmp_path: Path
) -> None:
    with running_server(tmp_path / "data", database_url, "--insecure-http") as (port, log):
        url = f"http://127.0.0.1:{port}/api/v1/tenants/"
        assert httpx2.get(url, headers={"X-API-Key": global_key}).status_code == 200
        spoofed = httpx2.get(url, headers={"X-API-Key": global_key, "X-Forwarded-For": "127.0.0.1"})
        assert spoofed.status_code == 403
    assert any("development only" in line for line in log)


def test_the_banner_names_the_console_and_links_that_answer(
    database_url: str, global_key: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    with running_server(data_dir, database_url, "--insecure-http") as (port, _):
        banner = server_log_path(data_dir, port).read_text()
        base = f"http://127.0.0.1:{port}"
        assert f"Switchboard is serving on {base}\n" in banner
        urls = re.findall(r"^  [a-z]+: +(http://\S+)$", banner, re.MULTILINE)
        assert urls == [f"{base}/console/", f"{base}/api/v1/", f"{base}/api/v1/docs", f"{base}/healthz"]
        for url in urls:
            assert httpx2.get(url, follow_redirects=True).status_code == 200, url
    assert global_key not in banner


def test_simulate_call_reaches_the_running_servers_simulated_pbx(
    database_url: str, global_key: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    with running_server(data_dir, database_url) as (port, log):
        cert = data_dir / "tls" / "localhost.crt"
        base = f"https://127.0.0.1:{port}"
        auth = {"Authorization": f"Bearer {global_key}"}
        with httpx2.Client(verify=ssl.create_default_context(cafile=str(cert)), base_url=base) as client:
            add_extension_410(client, auth)
        command = [
            sys.executable,
            "-m",
            "switchboard",
            "simulate",
            "call",
            "--to",
            "410",
            "--from",
            "+61390000001",
        ]
        env = {**os.environ, "SWITCHBOARD_API_KEY": global_key}
        run = subprocess.run(
            [*command, "--url", base, "--cacert", str(cert)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert run.returncode == 0, run.stderr
        call = json.loads(run.stdout)
        assert (call["extension"], call["direction"], call["tenantId"]) == ("410", "inbound", "demo")
        refused = subprocess.run(
            [*command[:-4], "--to", "999", "--from", "1", "--url", base, "--cacert", str(cert)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert refused.returncode == 1
        assert "404" in refused.stderr
    assert global_key not in "\n".join(log)
