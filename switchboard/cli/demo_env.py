"""The demo's credentials for a reader's shell: data/demo.env (0600), valid after every demo run."""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from switchboard.access import keys
from switchboard.access.accounts import find_account, update_account
from switchboard.access.api_keys import create_api_key
from switchboard.access.models import Account, ApiKey, TenantKey
from switchboard.access.passwords import generate_password, verify_password
from switchboard.access.principal import CLI_PRINCIPAL
from switchboard.access.schemas import AccountUpdate, ApiKeyCreate, TenantKeyCreate
from switchboard.access.tenant_keys import create_tenant_key
from switchboard.cli.demo import TENANT_ADMIN
from switchboard.db.base import utcnow
from switchboard.directory.models import Tenant

DEMO_ENV = "demo.env"
TENANT, ACME_ADMIN = TENANT_ADMIN
SUPERVISOR = "acme.agent400"  # the demo's supervisor of Outbound Sales
AGENT = "acme.agent401"
# The accounts whose passwords demo.env holds, by the variable naming each.
SIGN_INS = {"SB_ACME_ADMIN": ACME_ADMIN, "SB_SUPERVISOR": SUPERVISOR, "SB_AGENT": AGENT}


@dataclass
class DemoSecrets:
    values: dict[str, str] = field(default_factory=dict)
    reissued: list[str] = field(default_factory=list)  # the variables whose secret is new this run


def read_demo_env(path: Path) -> dict[str, str]:
    """The variables of an earlier run's file ({} when there is none or it is not ours)."""
    try:
        text = path.read_text()
    except (FileNotFoundError, UnicodeDecodeError):
        return {}
    values: dict[str, str] = {}
    for line in text.splitlines():
        words = shlex.split(line, comments=True) if line.strip() else []
        if len(words) == 2 and words[0] == "export" and "=" in words[1]:
            name, _, value = words[1].partition("=")
            values[name] = value
    return values


def write_demo_env(path: Path, values: dict[str, str]) -> None:
    """`export NAME='value'` lines, private (0600) before any secret is written."""
    lines = [f"# Written by `switchboard demo`: the demo's address and credentials. Load with: . {path}"]
    lines += [f"export {name}='{_quoted(value)}'" for name, value in values.items()]
    temporary = path.with_name(f".{path.name}.new")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # a leftover file keeps its mode through O_CREAT; make it private first
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    os.replace(temporary, path)  # a reader sourcing it meanwhile sees the old file or the new, whole


def _quoted(value: str) -> str:
    """The value for inside single quotes (a quote in a path ends them, is escaped, reopens them)."""
    return value.replace("'", "'\\''")


def demo_secrets(session: Session, previous: dict[str, str]) -> DemoSecrets:
    """acme's tenant key, three acme accounts' passwords and the agent's user key: those of the
    previous file while they still work, new ones (only their hashes are kept) where they do not."""
    made = DemoSecrets()
    acme = select(Tenant.pk).where(Tenant.tenant_key == TENANT).scalar_subquery()
    made.values["SB_TENANT_KEY"] = _key(
        session,
        made,
        "SB_TENANT_KEY",
        previous,
        TenantKey,
        TenantKey.tenant_pk == acme,
        lambda: create_tenant_key(session, CLI_PRINCIPAL, TENANT, TenantKeyCreate(name="Noojee (demo)"))[1],
    )
    for variable, username in SIGN_INS.items():
        made.values[variable] = username
        password = f"{variable}_PASSWORD"
        made.values[password] = _password(session, username, previous.get(password, ""), password, made)
    agent = select(Account.pk).where(Account.username_key == AGENT).scalar_subquery()
    made.values["SB_AGENT_KEY"] = _key(
        session,
        made,
        "SB_AGENT_KEY",
        previous,
        ApiKey,
        ApiKey.account_pk == agent,
        lambda: create_api_key(session, CLI_PRINCIPAL, AGENT, ApiKeyCreate(name="demo"))[1],
    )
    return made


def _password(session: Session, username: str, known: str, variable: str, made: DemoSecrets) -> str:
    account = find_account(session, CLI_PRINCIPAL, username)
    if known and verify_password(account.password_hash, known):
        return known
    made.reissued.append(variable)
    password = generate_password()
    update_account(session, CLI_PRINCIPAL, username, AccountUpdate.model_validate({"password": password}))
    return password


def _key(
    session: Session,
    made: DemoSecrets,
    variable: str,
    previous: dict[str, str],
    model: type[ApiKey] | type[TenantKey],
    owned: ColumnElement[bool],
    issue: Callable[[], str],
) -> str:
    """The previous file's key while it works (is the owner's, not revoked, not expired), else a new one."""
    key = previous.get(variable, "")
    if _works(session, key, model, owned):
        return key
    made.reissued.append(variable)
    return issue()


def _works(
    session: Session, key: str, model: type[ApiKey] | type[TenantKey], owned: ColumnElement[bool]
) -> bool:
    """Is the key well formed, of the model's kind, its owner's, and neither revoked nor expired?"""
    kind = keys.KeyKind.TENANT if model is TenantKey else keys.KeyKind.USER
    if not keys.is_well_formed(key) or keys.key_kind(key) is not kind:
        return False
    now = utcnow()
    found = select(model.pk).where(
        model.digest == keys.digest(key),
        owned,
        model.revoked_at.is_(None),
        model.expires_at.is_(None) | (model.expires_at > now),
    )
    return session.scalar(found) is not None
