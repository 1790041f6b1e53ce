"""The principal a request acts as, resolved before any handler runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["system", "reseller_admin", "tenant_admin", "group_admin", "user"]
Credential = Literal["global_key", "tenant_key", "user_key", "token", "session", "cli"]
ROLES: tuple[Role, ...] = ("system", "reseller_admin", "tenant_admin", "group_admin", "user")


@dataclass(frozen=True, slots=True)
class Principal:
    credential: Credential
    role: Role
    account_pk: int | None = None
    username: str | None = None
    tenant_pk: int | None = None
    group_pk: int | None = None
    user_pk: int | None = None  # the directory end user linked to the account, if any
    key_pk: int | None = None  # the user key, tenant key, token or console session row
    key_prefix: str | None = None  # identifies a key in logs and audit, never enough to use it
    key_scopes: frozenset[str] | None = None  # a user key's areas, when narrowed (None: all it may reach)
    reseller_pk: int | None = None  # a reseller admin's reseller (its view: the tenants it owns)

    @property
    def audit_name(self) -> str:
        if self.username is not None:
            via = (
                f" via {self.credential}:{self.key_prefix}" if self.key_prefix else f" via {self.credential}"
            )
            return f"account:{self.username}{via}"
        return f"{self.credential}:{self.key_prefix or '-'}"

    @property
    def identity(self) -> str:
        """Who holds the credential, for what is kept per client (Idempotency-Key): an account's
        logins and console sessions are the account; each API key and tenant key is itself; the
        global key is one, whichever of its rotations is presented."""
        if self.credential in ("token", "session"):
            return f"account:{self.account_pk}"
        if self.credential in ("global_key", "cli"):
            return self.credential
        return f"{self.credential}:{self.key_pk}"


# The operator at the shell (switchboard CLI): system rights, audited as such.
CLI_PRINCIPAL = Principal(credential="cli", role="system")
