"""The switchboard command: init, db upgrade, demo and serve's refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from switchboard.access import keys
from switchboard.access.models import Account
from switchboard.access.passwords import verify_password
from switchboard.cli import app
from switchboard.db.engine import Database
from switchboard.directory.models import Department, Group, ServiceUser, Tenant, User


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data_dir = tmp_path / "cli-data"
    monkeypatch.setenv("SWITCHBOARD_DATABASE_URL", database_url)
    monkeypatch.setenv("SWITCHBOARD_DATA_DIR", str(data_dir))
    return data_dir


def _lines(output: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in output.splitlines() if "=" in line)


def test_init_prints_secrets_once_and_is_idempotent(cli_env: Path, db: Database) -> None:
    runner = CliRunner()
    first = runner.invoke(app, ["init"])
    assert first.exit_code == 0, first.output
    values = _lines(first.stdout)
    assert keys.is_well_formed(values["global_api_key"])
    assert values["admin_username"] == "admin"
    with db.transaction() as session:
        admin = session.scalars(select(Account)).one()
        assert admin.role == "system"
        assert verify_password(admin.password_hash, values["admin_password"])
    second = runner.invoke(app, ["init"])
    assert second.exit_code == 0
    assert "global_api_key" not in second.stdout
    assert "nothing changed" in second.output
    as_json = json.loads(runner.invoke(app, ["init", "--json"]).stdout)
    assert as_json["initialised"] is False


def test_init_json(cli_env: Path) -> None:
    result = CliRunner().invoke(app, ["init", "--json", "--data-dir", str(cli_env)])
    body = json.loads(result.stdout)
    assert body["initialised"] is True
    assert keys.is_well_formed(body["global_api_key"])
    assert body["admin_password"]


def test_db_upgrade_is_repeatable(cli_env: Path) -> None:
    runner = CliRunner()
    for _ in range(2):
        result = runner.invoke(app, ["db", "upgrade"])
        assert result.exit_code == 0
        assert "up to date" in result.output


def test_demo_loads_a_realistic_directory_once(cli_env: Path, db: Database) -> None:
    runner = CliRunner()
    first = runner.invoke(app, ["demo"])
    assert first.exit_code == 0, first.output
    with db.transaction() as session:
        counts = {
            model.__name__: session.scalar(select(func.count()).select_from(model))
            for model in (Tenant, Group, Department, User, ServiceUser)
        }
        kinds = set(session.scalars(select(ServiceUser.kind)))
        types = {Tenant.type for Tenant in session.scalars(select(Tenant))}
        cc_types = {
            s.settings["type"]
            for s in session.scalars(select(ServiceUser).where(ServiceUser.kind == "call_center"))
        }
        nested = session.scalar(select(func.max(func.length(Department.full_path_name))))
    assert counts["Tenant"] >= 2
    assert counts["Group"] >= 3
    assert counts["User"] >= 200
    assert kinds == {"ivr", "call_center", "hunt_group", "route_point"}
    assert types == {"ServiceProvider", "Enterprise"}
    assert cc_types == {"Basic", "Standard", "Premium"}
    assert nested
    assert nested > len("Operations \\ Customer Care")
    second = runner.invoke(app, ["demo"])
    assert "nothing changed" in second.output
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(User)) == counts["User"]


def test_serve_refuses_unsafe_or_impossible_settings(cli_env: Path, database_url: str) -> None:
    runner = CliRunner()
    not_ready = runner.invoke(app, ["serve", "--port", "18443"])
    assert not_ready.exit_code == 2
    assert "init" in not_ready.output
    runner.invoke(app, ["init"])
    exposed = runner.invoke(app, ["serve", "--insecure-http", "--host", "0.0.0.0"])
    assert exposed.exit_code == 2
    assert "loopback" in exposed.output
    half_tls = runner.invoke(app, ["serve", "--certfile", "/tmp/c.pem"])
    assert half_tls.exit_code == 2
    if database_url.startswith("sqlite"):
        many = runner.invoke(app, ["serve", "--workers", "2"])
        assert many.exit_code == 2
        assert "PostgreSQL" in many.output


def test_settings_read_trusted_proxies_as_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    from switchboard.settings import Settings

    monkeypatch.setenv("SWITCHBOARD_TRUSTED_PROXIES", "10.0.0.1, 192.0.2.0/24")
    assert Settings().trusted_proxies == ["10.0.0.1", "192.0.2.0/24"]
    monkeypatch.setenv("SWITCHBOARD_TRUSTED_PROXIES", "")
    assert Settings().trusted_proxies == []
    monkeypatch.setenv("SWITCHBOARD_TRUSTED_PROXIES", "not-an-address")
    with pytest.raises(ValueError, match="trusted proxy"):
        Settings()
