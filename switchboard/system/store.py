"""Read and write system settings, and a per-process cache of them for hot paths."""

from __future__ import annotations

import ipaddress
import re
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from switchboard.db.fastread import FastReader
from switchboard.errors import BadRequest, Conflict, ServiceUnavailable
from switchboard.system.models import SystemSetting

DEFAULT_DOMAIN = "DEFAULT_DOMAIN"
GLOBAL_API_KEYS = "GLOBAL_API_KEYS"  # list of {digest, prefix, createdAt, expiresAt}: never exposed
IP_ALLOWLIST = "IP_ALLOWLIST"  # CIDRs every request must come from; a fresh install: loopback only
SETTINGS_CHANNEL = "settings"

END_USER_NAME = "END_USER_NAME"  # how search objects builds an end user's "name" (as APIO's does)
# How long a Noojee subscribe waits at most: its Java client gives up reading after 5 s, so a longer
# wait would answer nobody (SWITCHBOARD_SUBSCRIBE_MAX_WAIT_SECONDS stays the hard upper bound).
NOOJEE_SUBSCRIBE_MAX_WAIT = "noojeeSubscribeMaxWaitSeconds"
MAX_SUBSCRIBE_WAIT = 300.0
# Noojee methods accept GET like POST (Noojee's own client sends some as GET); tenants may override.
NOOJEE_ACCEPT_GET = "noojeeAcceptGet"

DEFAULTS: dict[str, Any] = {
    DEFAULT_DOMAIN: "switchboard.local",
    END_USER_NAME: "{{first_name}} {{last_name}}",
    IP_ALLOWLIST: ["127.0.0.1/32", "::1/128"],
    NOOJEE_SUBSCRIBE_MAX_WAIT: 4.0,
    NOOJEE_ACCEPT_GET: False,
}

# Settings readable and writable through /api/v1/settings/ (secrets are never in this list).
PUBLIC_SETTINGS = (DEFAULT_DOMAIN, END_USER_NAME, NOOJEE_SUBSCRIBE_MAX_WAIT, NOOJEE_ACCEPT_GET)

# A parameter in one or two braces on each side: APIO's own page writes "{first_name}} {{last_name}}".
_NAME_PARAMETER = re.compile(r"\{\{?\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}?")
NAME_PARAMETERS = frozenset({"first_name", "last_name"})


def check_end_user_name(template: str) -> str:
    """The template as saved; 400 if it uses a parameter other than first_name and last_name."""
    if not template.strip() or len(template) > 200:
        raise BadRequest.field(END_USER_NAME, "must be 1 to 200 characters")
    unknown = sorted({m.group(1) for m in _NAME_PARAMETER.finditer(template)} - NAME_PARAMETERS)
    if unknown:
        raise BadRequest.field(
            END_USER_NAME, f"unknown parameter {', '.join(unknown)}: only first_name and last_name exist"
        )
    return template


def render_end_user_name(template: str, first_name: str, last_name: str) -> str:
    values = {"first_name": first_name, "last_name": last_name}
    return _NAME_PARAMETER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


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
    """Store a setting; every worker's cache hears of it through the change feed."""
    from switchboard.signals.feed import bump

    row = session.get(SystemSetting, name)
    if row is None:
        session.add(SystemSetting(name=name, value=value))
    else:
        row.value = value
    session.flush()
    bump(session, SETTINGS_CHANNEL)
    if name == GLOBAL_API_KEYS:
        bump(session, "credentials")


def normalise_allowlist(entries: list[str]) -> list[str]:
    """CIDRs as written by ipaddress (host bits cleared), in order, without duplicates; 400 if bad."""
    if not entries:
        raise BadRequest.field("entries", "an empty allowlist would refuse every request")
    seen: list[str] = []
    for index, entry in enumerate(entries):
        try:
            network = str(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError as exc:
            raise BadRequest.field(f"entries.{index}", f"{entry!r} is not an IP address or network") from exc
        if network not in seen:
            seen.append(network)
    return seen


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
    if END_USER_NAME in changes:
        write_setting(session, END_USER_NAME, check_end_user_name(str(changes[END_USER_NAME])))
    if NOOJEE_SUBSCRIBE_MAX_WAIT in changes:
        seconds = float(changes[NOOJEE_SUBSCRIBE_MAX_WAIT])
        if not 0 <= seconds <= MAX_SUBSCRIBE_WAIT:
            raise BadRequest.field(NOOJEE_SUBSCRIBE_MAX_WAIT, f"must be 0 to {MAX_SUBSCRIBE_WAIT:g} seconds")
        write_setting(session, NOOJEE_SUBSCRIBE_MAX_WAIT, seconds)
    if NOOJEE_ACCEPT_GET in changes:
        write_setting(session, NOOJEE_ACCEPT_GET, bool(changes[NOOJEE_ACCEPT_GET]))
    return public_settings(session)


class SettingsCache:
    """All system settings in memory: re-read after a change anywhere (change feed, channel
    "settings"), and at least every `ttl` seconds as a safety net. One query per re-read."""

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
            try:
                rows = await self._reader.fetch_all(self._query, {})
            except Exception as exc:
                if not self._values:
                    raise ServiceUnavailable("The database is unavailable.") from exc
                rows = None  # keep serving the last values read; the next call tries again
            if rows is not None:
                self._values = {row["name"]: row["value"] for row in rows}
                self._loaded_at = time.monotonic()
        value = self._values.get(name)
        return DEFAULTS.get(name) if value is None else value
