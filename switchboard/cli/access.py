"""CLI commands for credentials and access: keys, accounts, the IP allowlist, access explain."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from switchboard.cli.common import (
    DataDir,
    checked_body,
    command_settings,
    err,
    open_database,
    upgrade_schema,
)
from switchboard.cli.readable_help import CommandGroup
from switchboard.errors import NotFound, SwitchboardError

if TYPE_CHECKING:  # the database layer loads where a command needs it (start-up time)
    from sqlalchemy.orm import Session

keys_app = CommandGroup(help="Global key rotation, tenant keys and user API keys.", no_args_is_help=True)
accounts_app = CommandGroup(help="Accounts (the shell acts with system rights).", no_args_is_help=True)
allowlist_app = CommandGroup(help="The system IP allowlist.", no_args_is_help=True)
access_app = CommandGroup(help="Explain access decisions.", no_args_is_help=True)
out = Console()
KeyId = Annotated[int, typer.Argument(metavar="KEY_ID", help="The key's id (as the list shows it).")]
Username = Annotated[str, typer.Argument(metavar="USERNAME", help="The account's name.")]
# The schemas' fields, as the command line names them (in messages about what it was given).
KEY_OPTIONS = {"name": "--name", "expiresAt": "--expires-in", "ipAllowlist": "--allow", "scopes": "--scopes"}
TENANT_KEY_OPTIONS = {**KEY_OPTIONS, "expiresAt": "--expires"}
ACCOUNT_OPTIONS = {
    "username": "USERNAME",
    "role": "--role",
    "tenantId": "--tenant",
    "groupId": "--group",
    "linkedUserId": "--linked-user",
}
_DURATION = re.compile(r"^(\d+)([smhd])$")


def parse_duration(text: str) -> timedelta:
    """'0', '90s', '30m', '12h', '7d'."""
    if text == "0":
        return timedelta(0)
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise typer.BadParameter(f"{text!r} is not a duration like 30m, 12h or 7d")
    amount, unit = int(match.group(1)), match.group(2)
    return timedelta(**{{"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[unit]: amount})


@contextmanager
def shell_transaction(data_dir: Path | None) -> Iterator[Session]:
    """One unit of work for a shell command: a refused request is a message and exit code 1."""
    settings = command_settings(data_dir)
    upgrade_schema(settings)
    db = open_database(settings)
    try:
        with db.transaction() as session:
            yield session
    except SwitchboardError as exc:
        err.print(f"[red]{exc.title}:[/red] {exc.detail}")
        raise typer.Exit(1) from exc
    finally:
        db.engine.dispose()


@keys_app.command("rotate-global")
def rotate_global(
    data_dir: DataDir = None,
    grace: Annotated[
        str,
        typer.Option(metavar="DURATION", help="How long the current key keeps working (e.g. 1h, 7d, 0)."),
    ] = "1h",
) -> None:
    """Issue a new global key, printed once; the old one works until the grace period ends."""
    from switchboard.system.bootstrap import rotate_global_key

    window = parse_duration(grace)
    with shell_transaction(data_dir) as session:
        key = rotate_global_key(session, window)
    err.print(f"New global key (shown once). The previous key stops working in {grace}.")
    typer.echo(f"global_api_key={key}")


@keys_app.command("list")
def list_keys(
    data_dir: DataDir = None,
    account: Annotated[str | None, typer.Option(metavar="ACCOUNT", help="Only this account's keys.")] = None,
) -> None:
    """User API keys (never the keys themselves)."""
    from sqlalchemy import select

    from switchboard.access.models import Account, ApiKey

    table = Table("id", "account", "name", "prefix", "scopes", "created", "expires", "last used", "revoked")
    with shell_transaction(data_dir) as session:
        stmt = select(ApiKey, Account.username).join(Account).order_by(ApiKey.pk)
        if account:
            stmt = stmt.where(Account.username_key == account.lower())
        for key, username in session.execute(stmt):
            table.add_row(
                str(key.pk),
                username,
                key.name,
                key.prefix,
                "all" if key.scopes is None else ",".join(key.scopes),
                f"{key.created_at:%Y-%m-%d %H:%M}",
                f"{key.expires_at:%Y-%m-%d %H:%M}" if key.expires_at else "-",
                f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "-",
                "yes" if key.revoked_at else "no",
            )
    out.print(table)


@keys_app.command("create")
def create_key(
    account: Annotated[str, typer.Option(metavar="ACCOUNT", help="The account the key acts as.")],
    name: Annotated[str, typer.Option(metavar="NAME", help="What the key is for.")],
    data_dir: DataDir = None,
    expires_in: Annotated[
        str | None, typer.Option(metavar="DURATION", help="e.g. 90d (default: never).")
    ] = None,
    allow: Annotated[
        list[str] | None, typer.Option(metavar="CIDR", help="CIDR the key may be used from (repeatable).")
    ] = None,
    scopes: Annotated[
        list[str] | None,
        typer.Option(
            metavar="SCOPES",
            help="What the key reaches: campaigns, calls, recordings; comma-separated or repeated "
            "(default: all three).",
        ),
    ] = None,
) -> None:
    """Create a user API key for an account; the key is printed once."""
    from switchboard.access.api_keys import create_api_key
    from switchboard.access.principal import CLI_PRINCIPAL
    from switchboard.access.schemas import ApiKeyCreate
    from switchboard.db.base import utcnow

    expires = utcnow() + parse_duration(expires_in) if expires_in else None
    given = {"name": name, "expiresAt": expires, "ipAllowlist": allow or []}
    if scopes is not None:
        given["scopes"] = [scope.strip() for entry in scopes for scope in entry.split(",") if scope.strip()]
    body = checked_body(ApiKeyCreate, given, KEY_OPTIONS)
    with shell_transaction(data_dir) as session:
        row, key = create_api_key(session, CLI_PRINCIPAL, account, body)
        key_id = row.pk
    err.print(f"API key {key_id} for {account} (shown once; send it over a secure channel):")
    typer.echo(f"api_key={key}")


@keys_app.command("revoke")
def revoke_key(key_id: KeyId, data_dir: DataDir = None) -> None:
    """Revoke a user API key by id; every worker refuses it at once."""
    from sqlalchemy import select

    from switchboard.access.api_keys import revoke_api_key
    from switchboard.access.models import Account, ApiKey
    from switchboard.access.principal import CLI_PRINCIPAL

    with shell_transaction(data_dir) as session:
        owner = session.scalar(select(Account.username).join(ApiKey).where(ApiKey.pk == key_id))
        if owner is None:
            raise NotFound(f"no API key {key_id}")
        revoke_api_key(session, CLI_PRINCIPAL, owner, key_id)
    err.print(f"API key {key_id} revoked.")


@keys_app.command("tenant-create")
def create_tenant_key(
    tenant: Annotated[
        str, typer.Option(metavar="TENANT", help="The tenant the key acts in (as its administrator).")
    ],
    name: Annotated[str, typer.Option(metavar="NAME", help="What the key is for, e.g. Noojee.")],
    data_dir: DataDir = None,
    expires: Annotated[
        str | None, typer.Option(metavar="DURATION", help="e.g. 90d (default: never).")
    ] = None,
    allow: Annotated[
        list[str] | None, typer.Option(metavar="CIDR", help="CIDR the key may be used from (repeatable).")
    ] = None,
) -> None:
    """Create a tenant key (the tenant's own global key, e.g. for Noojee integrations); printed once."""
    from switchboard.access.principal import CLI_PRINCIPAL
    from switchboard.access.schemas import TenantKeyCreate
    from switchboard.access.tenant_keys import create_tenant_key as create
    from switchboard.db.base import utcnow

    expires_at = utcnow() + parse_duration(expires) if expires else None
    body = checked_body(
        TenantKeyCreate, {"name": name, "expiresAt": expires_at, "ipAllowlist": allow}, TENANT_KEY_OPTIONS
    )
    with shell_transaction(data_dir) as session:
        row, key = create(session, CLI_PRINCIPAL, tenant, body)
        key_id = row.pk
    err.print(f"Tenant key {key_id} for {tenant} (shown once; send it over a secure channel):")
    typer.echo(f"tenant_key={key}")


@keys_app.command("tenant-list")
def list_tenant_keys(
    tenant: Annotated[str, typer.Option(metavar="TENANT", help="The tenant whose keys to list.")],
    data_dir: DataDir = None,
) -> None:
    """A tenant's keys (never the keys themselves)."""
    from switchboard.access.principal import CLI_PRINCIPAL
    from switchboard.access.tenant_keys import list_tenant_keys as listed

    table = Table("id", "name", "prefix", "created", "by", "expires", "last used", "revoked")
    after: int | None = None
    with shell_transaction(data_dir) as session:
        while True:
            rows, _ = listed(session, CLI_PRINCIPAL, tenant, after, 500)
            for key in rows[:500]:
                table.add_row(
                    str(key.pk),
                    key.name,
                    key.prefix,
                    f"{key.created_at:%Y-%m-%d %H:%M}",
                    key.created_by,
                    f"{key.expires_at:%Y-%m-%d %H:%M}" if key.expires_at else "-",
                    f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "-",
                    "yes" if key.revoked_at else "no",
                )
            if len(rows) <= 500:
                break
            after = rows[499].pk
    out.print(table)


@keys_app.command("tenant-revoke")
def revoke_tenant_key(key_id: KeyId, data_dir: DataDir = None) -> None:
    """Revoke a tenant key by id; every worker refuses it at once."""
    from switchboard.access import tenant_keys
    from switchboard.access.principal import CLI_PRINCIPAL

    with shell_transaction(data_dir) as session:
        tenant_id = tenant_keys.key_tenant_id(session, key_id)
        tenant_keys.revoke_tenant_key(session, CLI_PRINCIPAL, tenant_id, key_id)
    err.print(f"Tenant key {key_id} revoked.")


@keys_app.command("tenant-rotate")
def rotate_tenant_key(
    key_id: KeyId,
    data_dir: DataDir = None,
    grace: Annotated[
        str,
        typer.Option(
            metavar="DURATION", help="How long the current key keeps working (e.g. 1h, 7d, 0; at most 7d)."
        ),
    ] = "1h",
) -> None:
    """Issue the key's successor, printed once; the old key works until the grace period ends."""
    from switchboard.access import tenant_keys
    from switchboard.access.principal import CLI_PRINCIPAL
    from switchboard.access.schemas import MAX_TENANT_KEY_GRACE_SECONDS

    window = parse_duration(grace)
    if window.total_seconds() > MAX_TENANT_KEY_GRACE_SECONDS:
        raise typer.BadParameter("the grace period is at most 7d")
    with shell_transaction(data_dir) as session:
        tenant_id = tenant_keys.key_tenant_id(session, key_id)
        row, key = tenant_keys.rotate_tenant_key(session, CLI_PRINCIPAL, tenant_id, key_id, window)
        new_id = row.pk
    err.print(
        f"Tenant key {new_id} replaces key {key_id} (shown once). Key {key_id} stops working in {grace}."
    )
    typer.echo(f"tenant_key={key}")


@accounts_app.command("list")
def list_accounts(data_dir: DataDir = None) -> None:
    """Every account: its role, tenant, group, linked user and whether it is enabled."""
    from sqlalchemy import select

    from switchboard.access.accounts import account_view
    from switchboard.access.models import Account

    table = Table("username", "role", "tenant", "group", "linked user", "enabled")
    with shell_transaction(data_dir) as session:
        for account in session.scalars(select(Account).order_by(Account.username_key)):
            view = account_view(session, account)
            table.add_row(
                view["username"],
                view["role"],
                view["tenantId"] or "-",
                view["groupId"] or "-",
                view["linkedUserId"] or "-",
                "yes" if view["enabled"] else "no",
            )
    out.print(table)


@accounts_app.command("create")
def create_account(
    username: Username,
    role: Annotated[str, typer.Option(metavar="ROLE", help="system, tenant_admin, group_admin or user")],
    data_dir: DataDir = None,
    tenant: Annotated[
        str | None, typer.Option(metavar="TENANT", help="Its tenant (tenant and group roles).")
    ] = None,
    group: Annotated[str | None, typer.Option(metavar="GROUP", help="Its group (group_admin, user).")] = None,
    linked_user: Annotated[
        str | None, typer.Option(metavar="USER_ID", help="A directory end user id")
    ] = None,
) -> None:
    """Create an account with a generated password, printed once."""
    from pydantic import SecretStr

    from switchboard.access.accounts import create_account as create
    from switchboard.access.passwords import generate_password
    from switchboard.access.principal import CLI_PRINCIPAL
    from switchboard.access.schemas import AccountCreate

    password = generate_password()
    body = checked_body(
        AccountCreate,
        {
            "username": username,
            "password": SecretStr(password),
            "role": role,
            "tenantId": tenant,
            "groupId": group,
            "linkedUserId": linked_user,
        },
        ACCOUNT_OPTIONS,
    )
    with shell_transaction(data_dir) as session:
        create(session, CLI_PRINCIPAL, body)
    err.print(f"Account {username} created (password shown once).")
    typer.echo(f"password={password}")


@accounts_app.command("set-password")
def set_password(username: Username, data_dir: DataDir = None) -> None:
    """Set a new generated password (printed once); ends its login tokens and console sessions."""
    from switchboard.access.accounts import update_account
    from switchboard.access.passwords import generate_password
    from switchboard.access.principal import CLI_PRINCIPAL
    from switchboard.access.schemas import AccountUpdate

    password = generate_password()
    with shell_transaction(data_dir) as session:
        update_account(session, CLI_PRINCIPAL, username, AccountUpdate.model_validate({"password": password}))
    typer.echo(f"password={password}")


@allowlist_app.command("show")
def allowlist_show(data_dir: DataDir = None) -> None:
    """The allowlist's entries, one a line (none: every address may connect)."""
    from switchboard.system.store import IP_ALLOWLIST, read_setting

    with shell_transaction(data_dir) as session:
        for entry in read_setting(session, IP_ALLOWLIST):
            typer.echo(entry)


@allowlist_app.command("set")
def allowlist_set(
    entries: Annotated[list[str], typer.Argument(metavar="ADDRESS", help="Addresses or CIDRs, one or more.")],
    data_dir: DataDir = None,
) -> None:
    """Replace the allowlist (addresses or CIDRs); every worker applies it at once."""
    from switchboard.system.store import IP_ALLOWLIST, normalise_allowlist, write_setting

    with shell_transaction(data_dir) as session:
        normalised = normalise_allowlist(entries)
        write_setting(session, IP_ALLOWLIST, normalised)
    err.print("IP allowlist: " + ", ".join(normalised))


@access_app.command("explain")
def access_explain(
    obj: Annotated[
        str,
        typer.Option(
            "--object", metavar="KIND:ID", help="The object, e.g. user:acme/acme-sales/bob@acme.example"
        ),
    ],
    data_dir: DataDir = None,
    key_prefix: Annotated[
        str | None, typer.Option(metavar="PREFIX", help="The key's shown prefix, e.g. sbu_AbCdEf")
    ] = None,
    account: Annotated[
        str | None, typer.Option(metavar="ACCOUNT", help="An account name (as with its login token)")
    ] = None,
    operation: Annotated[str, typer.Option(metavar="OPERATION", help="read or manage")] = "read",
) -> None:
    """Print allow/deny for a key or account on an object, and the rule that decided."""
    from switchboard.access.explain import explain, principal_for

    if (key_prefix is None) == (account is None):
        err.print("Give exactly one of --key-prefix and --account.")
        raise typer.Exit(2)
    if operation not in ("read", "manage"):
        err.print("--operation is read or manage.")
        raise typer.Exit(2)
    with shell_transaction(data_dir) as session:
        principal = principal_for(session, key_prefix, account)
        verdict = explain(session, principal, obj, operation)
    typer.echo(f"{principal.audit_name} {operation} {obj}: {verdict}")
    sys.exit(0 if verdict.allowed else 3)
