"""Credential check: find the API key on a request and resolve it to a principal."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime

from fastapi import Request

from switchboard.access import keys
from switchboard.access.principal import Principal
from switchboard.errors import Unauthorized
from switchboard.system.store import GLOBAL_API_KEYS, SettingsCache

NOOJEE_PREFIX = "/servicemanager/rest/"


def presented_key(request: Request) -> str | None:
    """The key as sent: Authorization: Bearer, X-API-Key, or (Noojee routes only) apiKey."""
    auth = request.headers.get("authorization")
    if auth:
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    header_key = request.headers.get("x-api-key")
    if header_key:
        return header_key.strip()
    if request.url.path.startswith(NOOJEE_PREFIX):
        return request.query_params.get("apiKey")
    return None


def _expired(entry: dict[str, str | None], now: datetime) -> bool:
    expires = entry.get("expiresAt")
    return expires is not None and datetime.fromisoformat(expires) <= now


class CredentialResolver:
    """Resolves keys by digest against the cached system settings; no query on a warm cache."""

    def __init__(self, settings: SettingsCache) -> None:
        self._settings = settings

    async def resolve(self, request: Request) -> Principal:
        key = presented_key(request)
        if key is None:
            raise Unauthorized("An API key is required (Authorization: Bearer <key>).")
        if not keys.is_well_formed(key):
            raise Unauthorized("The API key is not valid.")
        if keys.key_kind(key) is keys.KeyKind.GLOBAL:
            wanted = keys.digest(key)
            now = datetime.now(UTC)
            for entry in await self._settings.get(GLOBAL_API_KEYS) or ():
                # compare_digest: equal-time over the digest, whichever entry matches.
                if hmac.compare_digest(entry["digest"], wanted) and not _expired(entry, now):
                    return Principal("global_key", "system", keys.display_prefix(key))
        raise Unauthorized("The API key is not valid.")
