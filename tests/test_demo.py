"""`switchboard demo`'s promises to the reader: data/demo.env with working credentials, kept valid on
every run, and extensions that name one end user across tenants."""

from __future__ import annotations

import re
import stat
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient
from typer.testing import CliRunner

from switchboard.cli.demo_env import read_demo_env, write_demo_env
from switchboard.cli.main import app
from switchboard.db.engine import Database
from switchboard.directory.models import ServiceUser, Tenant, User
from switchboard.settings import Settings
from tests.support.clients import make_client

VARIABLES = [
    "SB",
    "CURL_CA_BUNDLE",
    "SB_TENANT_KEY",
    "SB_ACME_ADMIN",
    "SB_ACME_ADMIN_PASSWORD",
    "SB_SUPERVISOR",
    "SB_SUPERVISOR_PASSWORD",
    "SB_AGENT",
    "SB_AGENT_PASSWORD",
    "SB_AGENT_KEY",
]
SECRETS = [
    "SB_TENANT_KEY",
    "SB_ACME_ADMIN_PASSWORD",
    "SB_SUPERVISOR_PASSWORD",
    "SB_AGENT_PASSWORD",
    "SB_AGENT_KEY",
]


def _demo(monkeypatch: pytest.MonkeyPatch, port: int | None = None) -> tuple[str, str]:
    """Runs `switchboard demo` (the port from the environment, as serve reads it): stdout, all output."""
    if port is None:
        monkeypatch.delenv("SWITCHBOARD_PORT", raising=False)
    else:
        monkeypatch.setenv("SWITCHBOARD_PORT", str(port))
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    return result.stdout, result.output


def _bearer(client: TestClient, path: str, credential: str) -> int:
    return client.get(path, headers={"Authorization": f"Bearer {credential}"}).status_code


def test_demo_env_holds_the_readers_working_credentials(
    cli_env: Path, settings: Settings, global_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    stdout, output = _demo(monkeypatch)
    env_file = (cli_env / "demo.env").resolve()
    assert stdout == f"demo_env={env_file}\n"  # the path, and no secret
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    lines = [line for line in env_file.read_text().splitlines() if not line.startswith("#")]
    assert all(re.fullmatch(r"export [A-Z_]+='[^']*'", line) for line in lines), lines
    values = read_demo_env(env_file)
    assert list(values) == VARIABLES
    assert values["SB"] == "https://127.0.0.1:8443"  # serve's default
    certificate = Path(values["CURL_CA_BUNDLE"])
    assert certificate == (cli_env / "tls" / "localhost.crt").resolve()  # the one serve will use
    assert certificate.read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert not any(values[name] in output for name in SECRETS)
    assert (values["SB_ACME_ADMIN"], values["SB_SUPERVISOR"], values["SB_AGENT"]) == (
        "acme.admin",
        "acme.agent400",
        "acme.agent401",
    )

    with make_client(settings) as client:
        assert _bearer(client, "/api/v1/tenants/acme/", values["SB_TENANT_KEY"]) == 200
        assert _bearer(client, "/api/v1/tenants/globex/", values["SB_TENANT_KEY"]) == 404  # acme's only
        roles = {}
        for name in ("SB_ACME_ADMIN", "SB_SUPERVISOR", "SB_AGENT"):
            login = {"username": values[name], "password": values[f"{name}_PASSWORD"]}
            signed_in = client.post("/api/v1/auth/login/", json=login)
            assert signed_in.status_code == 200, signed_in.text
            account = client.get(
                f"/api/v1/accounts/{values[name]}/",
                headers={"Authorization": f"Bearer {signed_in.json()['accessToken']}"},
            )
            assert account.status_code == 200, account.text
            roles[name] = (account.json()["role"], account.json()["tenantId"])
        assert roles == {
            "SB_ACME_ADMIN": ("tenant_admin", "acme"),
            "SB_SUPERVISOR": ("user", "acme"),
            "SB_AGENT": ("user", "acme"),
        }
        campaigns = client.get(
            "/api/v1/tenants/acme/campaigns/", headers={"Authorization": f"Bearer {values['SB_AGENT_KEY']}"}
        )
        assert campaigns.status_code == 200, campaigns.text
        assert {c["name"] for c in campaigns.json()["campaigns"]} >= {"Spring Sale Germany"}  # the agent's


def test_demo_again_keeps_what_works_and_reissues_what_does_not(
    cli_env: Path, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    _demo(monkeypatch)
    env_file = cli_env / "demo.env"
    first = env_file.read_text()
    _, output = _demo(monkeypatch)
    assert env_file.read_text() == first  # nothing to re-issue: the same file
    assert "nothing changed" in output

    values = read_demo_env(env_file)
    runner = CliRunner()
    assert runner.invoke(app, ["accounts", "set-password", "acme.agent400"]).exit_code == 0
    key_id = runner.invoke(app, ["keys", "list", "--account", "acme.agent401"]).stdout.split("│")[1].strip()
    assert runner.invoke(app, ["keys", "revoke", key_id]).exit_code == 0
    env_file.write_text(first.replace(values["SB_TENANT_KEY"], "sbn_lost"))  # edited by hand
    _, output = _demo(monkeypatch, port=9443)
    again = read_demo_env(env_file)
    assert again["SB"] == "https://127.0.0.1:9443"
    changed = {name for name in VARIABLES if again[name] != values[name]}
    assert changed == {"SB", "SB_SUPERVISOR_PASSWORD", "SB_AGENT_KEY", "SB_TENANT_KEY"}
    assert "SB_TENANT_KEY, SB_SUPERVISOR_PASSWORD, SB_AGENT_KEY" in " ".join(output.split())
    assert not any(again[name] in output for name in SECRETS)


def test_demo_env_survives_a_quote_in_a_value(tmp_path: Path) -> None:
    env_file = tmp_path / "it's" / "demo.env"
    env_file.parent.mkdir()
    write_demo_env(env_file, {"CURL_CA_BUNDLE": str(env_file.parent / "tls.crt"), "SB": "https://x:1"})
    assert read_demo_env(env_file)["CURL_CA_BUNDLE"] == str(env_file.parent / "tls.crt")
    sourced = subprocess.run(
        ["bash", "-c", '. "$1" && printf %s "$CURL_CA_BUNDLE"', "-", str(env_file)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert sourced.stdout == str(env_file.parent / "tls.crt")


def test_demo_env_is_private_even_over_a_leftover_file(tmp_path: Path) -> None:
    env_file = tmp_path / "demo.env"
    leftover = tmp_path / ".demo.env.new"  # what a run stopped mid-write leaves
    leftover.write_text("")
    leftover.chmod(0o644)
    write_demo_env(env_file, {"SB_AGENT_PASSWORD": "secret"})
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600


def test_demo_extensions_name_one_end_user_across_tenants(
    cli_env: Path, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    _demo(monkeypatch)
    with db.transaction() as session:
        owners = list(
            session.execute(
                select(User.extension, Tenant.tenant_id).join(Tenant, Tenant.pk == User.tenant_pk)
            )
        )
        owners += session.execute(
            select(ServiceUser.extension, Tenant.tenant_id).join(Tenant, Tenant.pk == ServiceUser.tenant_pk)
        )
    assert len(owners) == 250
    twice = [extension for extension, count in Counter(e for e, _ in owners).items() if count > 1]
    assert twice == []
    assert ("410", "acme") in owners  # the examples' extension


def test_demo_refuses_to_complete_an_older_demo_whose_extensions_overlap(
    cli_env: Path, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before globex moved to the 700s its agent at 400 was globex.agent400: such a data directory
    cannot be completed (its users hold the extensions, the groups their limits), and says so."""
    _demo(monkeypatch)
    runner = CliRunner()
    older = runner.invoke(
        app, ["accounts", "create", "globex.agent400", "--role", "tenant_admin", "--tenant", "globex"]
    )
    assert older.exit_code == 0, older.output
    refused = runner.invoke(app, ["demo"])
    assert refused.exit_code == 1
    assert "remove the data directory" in " ".join(refused.output.split())
