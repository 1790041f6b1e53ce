"""The switchboard command: init, db upgrade, demo and serve's refusals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from switchboard.access import keys
from switchboard.access.models import Account, TenantKey
from switchboard.access.passwords import verify_password
from switchboard.cli.demo_env import read_demo_env
from switchboard.cli.main import app
from switchboard.contact_centre.models import Campaign, CampaignTemplate, Team, TeamMember
from switchboard.db.engine import Database
from switchboard.directory.models import Department, Group, ServiceUser, Tenant, User

DEMO_MODELS = (
    Tenant,
    Group,
    Department,
    User,
    ServiceUser,
    Account,
    Team,
    TeamMember,
    CampaignTemplate,
    Campaign,
)


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
            model.__name__: session.scalar(select(func.count()).select_from(model)) for model in DEMO_MODELS
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
        assert {
            model.__name__: session.scalar(select(func.count()).select_from(model)) for model in DEMO_MODELS
        } == counts


def test_demo_contact_centre(cli_env: Path, db: Database) -> None:
    """Per tenant: teams with agents, a template per team and a team-less one, campaigns of each."""
    first = CliRunner().invoke(app, ["demo"])
    assert first.exit_code == 0, first.output
    assert "password" not in first.output  # the agents' passwords are never shown
    with db.transaction() as session:
        for tenant in session.scalars(select(Tenant)):
            teams = list(session.scalars(select(Team).where(Team.tenant_pk == tenant.pk)))
            assert len(teams) >= 2
            for team in teams:
                members = session.scalars(select(TeamMember.account_pk).where(TeamMember.team_pk == team.pk))
                agents = [session.get_one(Account, pk) for pk in members]
                assert agents
                assert {(a.role, a.tenant_pk) for a in agents} == {("user", tenant.pk)}
                assert all(a.user_pk is not None for a in agents)  # linked: they dial from an extension
            templates = list(
                session.scalars(select(CampaignTemplate).where(CampaignTemplate.tenant_pk == tenant.pk))
            )
            assert {t.team_pk for t in templates} == {None, *(team.pk for team in teams)}
            for template in templates:
                finals = {d["name"]: d["final"] for d in template.dispositions}
                assert (finals["Sale"], finals["Callback"], finals["No answer"]) == (True, False, False)
                fields = {f["name"]: f for f in template.lead_fields}
                assert fields["firstName"]["required"]
                assert fields["phone"]["phone"]
                assert fields["mobile"]["phone"]
                assert fields["email"]["type"] == "email"
                assert ZoneInfo(template.contact_hours["timeZone"])
                campaigns = session.scalar(
                    select(func.count()).select_from(Campaign).where(Campaign.template_pk == template.pk)
                )
                assert campaigns in (1, 2)
        settings = set(session.scalars(select(Tenant.teamless_templates_visible_to)))
    assert settings == {"admins", "everyone"}


def test_explain_on_demo_campaigns(cli_env: Path, db: Database) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["demo"]).exit_code == 0
    with db.transaction() as session:
        ids = {name: pk for name, pk in session.execute(select(Campaign.name, Campaign.pk))}
    cases = (
        (
            "acme.agent400",
            f"campaign:acme/{ids['Spring Sale Germany']}",
            0,
            "visible via team Outbound Sales",
        ),
        ("acme.agent500", f"campaign:acme/{ids['Spring Sale Germany']}", 3, "template team Outbound Sales"),
        ("acme.agent401", f"campaign:acme/{ids['Annual Satisfaction Survey']}", 3, "administrators only"),
        ("globex.agent800", f"campaign:globex/{ids['Fault Follow-up']}", 0, "to everyone"),
        ("globex.agent800", f"campaign:acme/{ids['Win-back Lapsed Customers']}", 3, "another tenant"),
    )
    for account, obj, code, words in cases:
        result = runner.invoke(app, ["access", "explain", "--account", account, "--object", obj])
        assert result.exit_code == code, result.output
        assert words in result.stdout, result.stdout
    wrong = runner.invoke(
        app, ["access", "explain", "--account", "acme.agent400", "--object", "campaign:acme"]
    )
    assert wrong.exit_code == 1
    assert "campaign:T/ID" in wrong.output


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


def test_keys_accounts_allowlist_and_explain_commands(cli_env: Path, db: Database) -> None:
    runner = CliRunner()
    key = _lines(runner.invoke(app, ["init"]).stdout)["global_api_key"]
    assert runner.invoke(app, ["demo"]).exit_code == 0
    made = runner.invoke(app, ["accounts", "create", "ann", "--role", "tenant_admin", "--tenant", "acme"])
    assert made.exit_code == 0, made.output
    assert len(_lines(made.stdout)["password"]) >= 16
    assert runner.invoke(app, ["accounts", "create", "bad", "--role", "tenant_admin"]).exit_code == 1
    assert "ann" in runner.invoke(app, ["accounts", "list"]).stdout
    assert "password=" in runner.invoke(app, ["accounts", "set-password", "ann"]).stdout

    created = runner.invoke(
        app, ["keys", "create", "--account", "ann", "--name", "crm", "--expires-in", "30d"]
    )
    user_key = _lines(created.stdout)["api_key"]
    assert keys.is_well_formed(user_key)
    listing = runner.invoke(app, ["keys", "list", "--account", "ann"]).stdout
    assert "crm" in listing
    assert user_key not in listing
    assert runner.invoke(app, ["keys", "revoke", "1"]).exit_code == 0
    assert runner.invoke(app, ["keys", "revoke", "99"]).exit_code == 1

    prefix = keys.display_prefix(user_key)
    denied = runner.invoke(app, ["access", "explain", "--key-prefix", prefix, "--object", "tenant:acme"])
    assert denied.exit_code == 3
    assert "campaign" in denied.stdout
    allowed = runner.invoke(
        app, ["access", "explain", "--account", "ann", "--object", "group:acme/acme-sales"]
    )
    assert allowed.exit_code == 0
    assert "ALLOW" in allowed.stdout
    other = runner.invoke(
        app, ["access", "explain", "--account", "ann", "--object", "group:globex/globex-syd"]
    )
    assert other.exit_code == 3
    assert "not visible" in other.stdout
    missing = runner.invoke(app, ["access", "explain", "--account", "ann", "--object", "group:acme/nope"])
    assert "does not exist" in missing.stdout
    manage = runner.invoke(
        app, ["access", "explain", "--account", "ann", "--object", "tenant:acme", "--operation", "manage"]
    )
    assert manage.exit_code == 0
    assert runner.invoke(app, ["access", "explain", "--object", "tenant:acme"]).exit_code == 2

    assert runner.invoke(app, ["allowlist", "set", "10.0.0.0/8", "127.0.0.1"]).exit_code == 0
    assert runner.invoke(app, ["allowlist", "show"]).stdout.split() == ["10.0.0.0/8", "127.0.0.1/32"]
    assert runner.invoke(app, ["allowlist", "set", "nonsense"]).exit_code == 1

    rotated = runner.invoke(app, ["keys", "rotate-global", "--grace", "1h"])
    new_key = _lines(rotated.stdout)["global_api_key"]
    from switchboard.system.store import GLOBAL_API_KEYS, read_setting

    with db.transaction() as session:
        entries = read_setting(session, GLOBAL_API_KEYS)
    digests = {entry["digest"]: entry["expiresAt"] for entry in entries}
    assert digests[keys.digest(new_key)] is None
    assert digests[keys.digest(key)] is not None  # the old key expires after the grace period
    assert runner.invoke(app, ["keys", "rotate-global", "--grace", "soon"]).exit_code == 2


def test_demos_tenant_key_for_acme_and_the_tenant_key_commands(cli_env: Path, db: Database) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["init"]).exit_code == 0
    first = runner.invoke(app, ["demo"])
    assert first.exit_code == 0, first.output
    demo_key = read_demo_env(cli_env / "demo.env")["SB_TENANT_KEY"]
    assert keys.key_kind(demo_key) is keys.KeyKind.TENANT
    assert keys.is_well_formed(demo_key)
    assert demo_key not in first.output  # written to demo.env, never printed
    assert runner.invoke(app, ["demo"]).exit_code == 0  # the key still works: kept, no second one
    with db.transaction() as session:
        stored = session.scalars(select(TenantKey)).one()
        assert stored.digest == keys.digest(demo_key)
        assert session.get_one(Tenant, stored.tenant_pk).tenant_id == "acme"

    made = runner.invoke(
        app,
        [
            "keys",
            "tenant-create",
            "--tenant",
            "ACME",
            "--name",
            "crm",
            "--expires",
            "30d",
            "--allow",
            "10.0.0.0/8",
        ],
    )
    assert made.exit_code == 0, made.output
    key = _lines(made.stdout)["tenant_key"]
    assert keys.is_well_formed(key)
    listing = runner.invoke(app, ["keys", "tenant-list", "--tenant", "acme"])
    assert listing.exit_code == 0, listing.output
    assert "crm" in listing.stdout
    assert "Noojee" in listing.stdout  # the demo's (a narrow terminal wraps the rest)
    assert key not in listing.stdout
    assert demo_key not in listing.stdout
    assert runner.invoke(app, ["keys", "tenant-list", "--tenant", "nope"]).exit_code == 1
    with db.transaction() as session:
        row = session.scalars(select(TenantKey).where(TenantKey.digest == keys.digest(key))).one()
        key_id, expires = row.pk, row.expires_at
        assert row.ip_allowlist == ["10.0.0.0/8"]
        assert row.created_by == "cli:-"
    assert expires is not None

    rotated = runner.invoke(app, ["keys", "tenant-rotate", str(key_id), "--grace", "2h"])
    assert rotated.exit_code == 0, rotated.output
    successor = _lines(rotated.stdout)["tenant_key"]
    with db.transaction() as session:
        old = session.get_one(TenantKey, key_id)
        new = session.scalars(select(TenantKey).where(TenantKey.digest == keys.digest(successor))).one()
        assert old.revoked_at is None
        assert old.expires_at is not None
        assert old.expires_at < expires  # now ends with the grace period
        assert (new.name, new.ip_allowlist) == ("crm", ["10.0.0.0/8"])
    assert runner.invoke(app, ["keys", "tenant-rotate", str(key_id), "--grace", "8d"]).exit_code == 2
    assert runner.invoke(app, ["keys", "tenant-revoke", str(key_id)]).exit_code == 0
    with db.transaction() as session:
        assert session.get_one(TenantKey, key_id).revoked_at is not None
    assert runner.invoke(app, ["keys", "tenant-revoke", "999"]).exit_code == 1
    assert (
        runner.invoke(app, ["keys", "tenant-rotate", str(key_id), "--grace", "0"]).exit_code == 1
    )  # revoked

    prefix = keys.display_prefix(demo_key)
    own = runner.invoke(
        app, ["access", "explain", "--key-prefix", prefix, "--object", "group:acme/acme-sales"]
    )
    assert own.exit_code == 0, own.output
    other = runner.invoke(app, ["access", "explain", "--key-prefix", prefix, "--object", "tenant:globex"])
    assert other.exit_code == 3


def test_keys_create_takes_scopes_as_the_api_does(cli_env: Path, db: Database) -> None:
    from switchboard.access.models import ApiKey
    from switchboard.access.schemas import KEY_SCOPES

    runner = CliRunner()
    assert runner.invoke(app, ["init"]).exit_code == 0
    assert runner.invoke(app, ["accounts", "create", "ann", "--role", "system"]).exit_code == 0

    def create(name: str, *scopes: str) -> Any:
        return runner.invoke(app, ["keys", "create", "--account", "ann", "--name", name, *scopes])

    for name, given in [
        ("comma", ["--scopes", "calls, recordings"]),
        ("repeated", ["--scopes", "recordings", "--scopes", "calls,"]),
        ("default", []),
        ("all", ["--scopes", ",".join(KEY_SCOPES)]),
    ]:
        made = create(name, *given)
        assert made.exit_code == 0, made.output
        assert keys.is_well_formed(_lines(made.stdout)["api_key"])
    with db.transaction() as session:
        stored = {row.name: row.scopes for row in session.scalars(select(ApiKey))}
    # As POST /api/v1/accounts/{username}/api-keys/ stores them: in their order, none for all three.
    assert stored == {
        "comma": ["calls", "recordings"],
        "repeated": ["calls", "recordings"],
        "default": None,
        "all": None,
    }

    for given, words in [
        (["--scopes", "calls,bogus"], ["--scopes", "'bogus'", "'campaigns', 'calls' or 'recordings'"]),
        (["--scopes", "Calls"], ["--scopes", "'Calls'"]),
        (["--scopes", ","], ["--scopes", "at least 1"]),
    ]:
        refused = create("refused", *given)
        assert refused.exit_code == 2, refused.output
        assert refused.exception is None or isinstance(refused.exception, SystemExit)
        assert "Traceback" not in refused.output
        for word in words:
            assert word in refused.output, refused.output
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(ApiKey)) == 4  # nothing made by a refusal
