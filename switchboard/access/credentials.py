"""Credential check: find the key or token on a request (or the API's session cookie, which holds
a login token) and resolve it to a principal.

Warm path: one SHA-256 and one dict lookup, no query. The cache maps digests to what the database
said about them (including "unknown") and is cleared whenever any worker commits a change to
keys, tokens or accounts (the "credentials" channel of the change feed).
"""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from sqlalchemy import bindparam, select

from switchboard.access import api_session, keys
from switchboard.access.models import AccessToken, Account, ApiKey, TenantKey
from switchboard.access.principal import Credential, Principal
from switchboard.access.ratelimit import RateLimiter
from switchboard.db.fastread import FastReader
from switchboard.errors import Forbidden, Unauthorized
from switchboard.kit.surfaces import NOOJEE_PREFIXES
from switchboard.settings import IPNetwork
from switchboard.signals.feed import ChangeFeed
from switchboard.system.store import GLOBAL_API_KEYS, SettingsCache

CREDENTIALS_CHANNEL = "credentials"
MAX_CACHED = 200_000


def presented_key(request: Request, form_keys: list[str] | None = None) -> str | None:
    """The key as sent: Authorization: Bearer, X-API-Key, or (Noojee routes only) apiKey in the
    query or the form (`form_keys`, read by the caller).

    A channel used twice (two Authorization headers, two apiKey parameters) or two different keys
    across channels are refused: which one acts would be a guess.
    """
    channels = [
        [_bearer(value) for value in request.headers.getlist("authorization")],
        request.headers.getlist("x-api-key"),
    ]
    if request.url.path.startswith(NOOJEE_PREFIXES):
        channels += [request.query_params.getlist("apiKey"), form_keys or []]
    sent = {value.strip() for channel in channels for value in channel} - {""}
    if len(sent) > 1 or any(len(channel) > 1 for channel in channels):
        raise Unauthorized("The request carries more than one credential; send exactly one.")
    return sent.pop() if sent else None


def _bearer(authorization: str) -> str:
    scheme, _, value = authorization.partition(" ")
    return value if scheme.lower() == "bearer" else ""


@dataclass(frozen=True, slots=True)
class CachedCredential:
    principal: Principal
    expires_at: datetime | None
    revoked: bool
    enabled: bool
    allowlist: tuple[IPNetwork, ...]


def _credential_query(model: type[ApiKey] | type[AccessToken]) -> Any:
    is_key = model is ApiKey
    columns: list[Any] = [
        model.pk.label("key_pk"),
        model.expires_at.label("expires_at"),
        model.revoked_at.label("revoked_at"),
        Account.pk.label("account_pk"),
        Account.username.label("username"),
        Account.role.label("role"),
        Account.tenant_pk.label("tenant_pk"),
        Account.group_pk.label("group_pk"),
        Account.user_pk.label("user_pk"),
        Account.reseller_pk.label("reseller_pk"),
        Account.enabled.label("enabled"),
    ]
    if is_key:
        columns += [ApiKey.ip_allowlist.label("ip_allowlist"), ApiKey.prefix.label("prefix"), ApiKey.scopes]
    return (
        select(*columns)
        .join(Account, Account.pk == model.account_pk)
        .where(model.digest == bindparam("digest"))
    )


def _tenant_key_query() -> Any:
    """A tenant key acts as its tenant's administrator: no account behind it."""
    return select(
        TenantKey.pk.label("key_pk"),
        TenantKey.expires_at.label("expires_at"),
        TenantKey.revoked_at.label("revoked_at"),
        TenantKey.tenant_pk.label("tenant_pk"),
        TenantKey.ip_allowlist.label("ip_allowlist"),
        TenantKey.prefix.label("prefix"),
    ).where(TenantKey.digest == bindparam("digest"))


class CredentialResolver:
    def __init__(
        self,
        reader: FastReader,
        settings: SettingsCache,
        feed: ChangeFeed,
        limiter: RateLimiter,
        failures_per_minute: int,
        requests_per_minute: int,
    ) -> None:
        self._reader = reader
        self._settings = settings
        self._limiter = limiter
        self._failures_per_minute = failures_per_minute
        self._requests_per_minute = requests_per_minute
        self._cache: dict[str, CachedCredential | None] = {}
        # (user or tenant key kind, its pk) -> time; flushed in the background
        self.last_used: dict[tuple[keys.KeyKind, int], datetime] = {}
        self._queries = {
            keys.KeyKind.USER: reader.compiled("credentials.user_key", lambda: _credential_query(ApiKey)),
            keys.KeyKind.TOKEN: reader.compiled("credentials.token", lambda: _credential_query(AccessToken)),
            keys.KeyKind.TENANT: reader.compiled("credentials.tenant_key", _tenant_key_query),
        }
        self._generation = 0  # counts the announced changes, for loads that straddle one
        feed.subscribe(CREDENTIALS_CHANNEL, self._forget)

    def _forget(self) -> None:
        self._generation += 1
        self._cache.clear()

    async def resolve(self, request: Request) -> Principal:
        noojee = request.url.path.startswith(NOOJEE_PREFIXES)
        key = presented_key(request, await _form_keys(request) if noojee else None)
        # A header says what the client chose; a cookie comes with every request: the header acts.
        session = api_session.session_token(request) if key is None else None
        key = key or session
        if key is None:
            raise Unauthorized(
                "An API key or login token is required (Authorization: Bearer <key>).",
                # The client's words hold a credential header's form, which the audit log redacts.
                reason="No API key or login token was presented.",
            )
        client = request.client.host if request.client else "-"
        failures = f"auth-fail:{client}"
        # Failures are counted per address, but a valid credential passes whatever its address
        # has failed (one guesser behind a NAT must not lock out every integrator there): it is
        # limited by its own budget below. A key check is one digest and a lookup, so checking
        # keys from a limited address gives a guesser nothing a 190-bit key could lose to.
        limited = self._limiter.count(failures) >= self._failures_per_minute
        principal = await self._principal(key, client, limited) if keys.is_well_formed(key) else None
        if principal is None:
            what = "failed authentications from this address"
            # An address already over its budget is answered 429 and not counted further (no
            # write to the shared counters for each request of a flood).
            self._limiter.check(failures, self._failures_per_minute, what)
            self._limiter.hit(failures, self._failures_per_minute, what)
            raise Unauthorized("The API key or token is not valid.")
        if session is not None:
            api_session.require_csrf(request, session)
        self._limiter.hit(
            f"rate:{principal.audit_name}", self._requests_per_minute, "requests for this credential"
        )
        return principal

    async def _principal(self, key: str, client: str, limited: bool) -> Principal | None:
        """The key's principal, or None. From a `limited` address (its failure budget spent) an
        unknown key is not remembered: a flood of made-up keys cannot crowd out the cache."""
        kind = keys.key_kind(key)
        digest = keys.digest(key)
        if kind is keys.KeyKind.GLOBAL:
            now = datetime.now(UTC)
            for entry in await self._settings.get(GLOBAL_API_KEYS) or ():
                expires = entry.get("expiresAt")
                if hmac.compare_digest(entry["digest"], digest) and (
                    expires is None or datetime.fromisoformat(expires) > now
                ):
                    return Principal("global_key", "system", key_prefix=keys.display_prefix(key))
            return None
        cached = self._cache.get(digest, _MISSING)
        if cached is _MISSING:
            generation = self._generation
            cached = await self._load(kind, digest)
            # Kept only if no change to credentials was announced while it was read: a row read
            # just before a revocation committed must not outlive the revocation in the cache.
            if generation == self._generation and (cached is not None or not limited):
                if len(self._cache) >= MAX_CACHED:
                    self._cache.clear()
                self._cache[digest] = cached
        if not isinstance(cached, CachedCredential) or cached.revoked or not cached.enabled:
            return None
        if cached.expires_at is not None and cached.expires_at <= datetime.now(UTC):
            return None
        if cached.allowlist and not _allowed(client, cached.allowlist):
            raise Forbidden("This API key may not be used from this address (the key's IP allowlist).")
        if kind in _KEYS_WITH_LAST_USE and cached.principal.key_pk is not None:
            self.last_used[(kind, cached.principal.key_pk)] = datetime.now(UTC)
        return cached.principal

    async def _load(self, kind: keys.KeyKind, digest: str) -> CachedCredential | None:
        query = self._queries.get(kind)
        row = None if query is None else await self._reader.fetch_one(query, {"digest": digest})
        if row is None:
            return None
        networks = tuple(ipaddress.ip_network(c, strict=False) for c in row.get("ip_allowlist") or ())
        if kind is keys.KeyKind.TENANT:
            tenant_principal = Principal(
                credential="tenant_key",
                role="tenant_admin",
                tenant_pk=row["tenant_pk"],
                key_pk=row["key_pk"],
                key_prefix=row["prefix"],
            )
            return CachedCredential(
                principal=tenant_principal,
                expires_at=row["expires_at"],
                revoked=row["revoked_at"] is not None,
                enabled=True,
                allowlist=networks,
            )
        credential: Credential = "user_key" if kind is keys.KeyKind.USER else "token"
        principal = Principal(
            credential=credential,
            role=row["role"],
            account_pk=row["account_pk"],
            username=row["username"],
            tenant_pk=row["tenant_pk"],
            group_pk=row["group_pk"],
            user_pk=row["user_pk"],
            reseller_pk=row["reseller_pk"],
            key_pk=row["key_pk"],
            key_prefix=row.get("prefix") or f"{kind.value}_#{row['key_pk']}",
            key_scopes=frozenset(row["scopes"]) if row.get("scopes") is not None else None,
        )
        return CachedCredential(
            principal=principal,
            expires_at=row["expires_at"],
            revoked=row["revoked_at"] is not None,
            enabled=bool(row["enabled"]),
            allowlist=networks,
        )


_MISSING: Any = object()
_KEYS_WITH_LAST_USE = frozenset({keys.KeyKind.USER, keys.KeyKind.TENANT})


async def _form_keys(request: Request) -> list[str]:
    """Noojee clients may post apiKey as a form field (compatibility only); every one posted."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return []
    return [value for value in (await request.form()).getlist("apiKey") if isinstance(value, str)]


def _allowed(client: str, networks: tuple[IPNetwork, ...]) -> bool:
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return False
    return any(address in network for network in networks)
