"""Read and write system settings, and a per-process cache of them for hot paths."""

from __future__ import annotations

import re
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from switchboard.db.fastread import FastReader
from switchboard.errors import BadRequest, Conflict
from switchboard.system.models import SystemSetting

DEFAULT_DOMAIN = "DEFAULT_DOMAIN"
GLOBAL_API_KEYS = "GLOBAL_API_KEYS"  # list of {digest, prefix, createdAt, expiresAt}: never exposed

DEFAULTS: dict[str, Any] = {DEFAULT_DOMAIN: "switchboard.local"}

# Settings readable and writable through /api/v1/settings/ (secrets are never in this list).
PUBLIC_SETTINGS = (DEFAULT_DOMAIN,)

_DOMAIN = re.compile(
    r"^(?=.{1,80}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
)


def check_domain_name(field: str, value: str) -> str:
    """A DNS-style domain, lower-cased; 400 naming the field otherwise."""
    lowered = value.strip().lower()
    if not _DOMAIN.fullmatch(lowered):
        raise BadRequest.field(field, "must be a domain name such as example.com")
    return lowered


def read_setting(session: Session, name: str) -> Any:
    value = session.scalar(select(SystemSetting.value).where(SystemSetting.name == name))
    return DEFAULTS.get(name) if value is None else value


def write_setting(session: Session, name: str, value: Any) -> None:
    row = session.get(SystemSetting, name)
    if row is None:
        session.add(SystemSetting(name=name, value=value))
    else:
        row.value = value
    session.flush()


def public_settings(session: Session) -> dict[str, Any]:
    return {name: read_setting(session, name) for name in PUBLIC_SETTINGS}


def update_public_settings(session: Session, changes: dict[str, Any]) -> dict[str, Any]:
    from switchboard.directory.models import Domain  # the directory owns domains

    if DEFAULT_DOMAIN in changes:
        domain = check_domain_name(DEFAULT_DOMAIN, str(changes[DEFAULT_DOMAIN]))
        taken = session.scalar(select(Domain.pk).where(Domain.name_key == domain))
        if taken is not None:
            raise Conflict(f"{DEFAULT_DOMAIN}: {domain} is assigned to a tenant")
        write_setting(session, DEFAULT_DOMAIN, domain)
    return public_settings(session)


class SettingsCache:
    """All system settings in memory, re-read at most every `ttl` seconds (one query).

    Writes in this process call invalidate(); other processes see a change within `ttl`.
    """

    def __init__(self, reader: FastReader, ttl: float) -> None:
        self._reader = reader
        self._ttl = ttl
        self._values: dict[str, Any] = {}
        self._loaded_at = float("-inf")
        self._query = reader.compiled(
            "system_settings.all", lambda: select(SystemSetting.name, SystemSetting.value)
        )

    def invalidate(self) -> None:
        self._loaded_at = float("-inf")

    async def get(self, name: str) -> Any:
        if time.monotonic() - self._loaded_at > self._ttl:
            rows = await self._reader.fetch_all(self._query, {})
            self._values = {row["name"]: row["value"] for row in rows}
            self._loaded_at = time.monotonic()
        value = self._values.get(name)
        return DEFAULTS.get(name) if value is None else value
