"""User API keys (Noojee's API keys) and login tokens: issued once, stored as digests, revocable at once."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from switchboard.access import keys
from switchboard.access.accounts import (
    CREDENTIALS,
    account_reach,
    find_account,
    placement_of,
    require_take_over,
)
from switchboard.access.models import AccessToken, Account, ApiKey, TenantKey
from switchboard.access.policy import ROLE_RANK, may_manage_account, may_widen_key_restrictions
from switchboard.access.principal import Principal
from switchboard.access.schemas import KEY_SCOPES, ApiKeyCreate, ApiKeyUpdate, KeyScope, TenantKeyUpdate
from switchboard.db.base import utcnow
from switchboard.db.keyset import keyset_page
from switchboard.errors import BadRequest, Conflict, Forbidden, NotFound
from switchboard.events.log import record_event
from switchboard.signals.feed import bump


def _require_key_rights(session: Session, principal: Principal, account: Account) -> None:
    """An account's keys are listed and revoked by the account itself and by whoever manages it."""
    if account.pk == principal.account_pk:
        return
    if not may_manage_account(principal, placement_of(session, account)):
        raise Forbidden("Not allowed: you do not manage this account's API keys.")


def _require_key_making(session: Session, principal: Principal, account: Account) -> None:
    """A key is created or changed by its account, or by whoever reaches all the account reaches
    (a key of it would otherwise reach further than its maker)."""
    _require_key_rights(session, principal, account)
    if account.pk != principal.account_pk:
        require_take_over(session, principal, account_reach(session, account))


@dataclass(frozen=True, slots=True)
class KeyRights:
    """What the principal may do with an account's API keys, by the rules the services enforce:
    list and revoke them (`see`), create and change them (`make`)."""

    see: bool
    make: bool


def key_rights(session: Session, principal: Principal, account: Account) -> KeyRights:
    try:
        _require_key_rights(session, principal, account)
    except Forbidden:
        return KeyRights(see=False, make=False)
    try:
        _require_key_making(session, principal, account)
    except Forbidden:
        return KeyRights(see=True, make=False)
    return KeyRights(see=True, make=True)


def checked_cidrs(entries: list[str]) -> list[str]:
    result = []
    for index, entry in enumerate(entries):
        try:
            result.append(str(ipaddress.ip_network(entry, strict=False)))
        except ValueError as exc:
            reason = f"{entry!r} is not an IP address or network"
            raise BadRequest.field(f"ipAllowlist.{index}", reason) from exc
    return result


def future_expiry(expires_at: datetime | None) -> datetime | None:
    if expires_at is None:
        return None
    expires = expires_at if expires_at.tzinfo else expires_at.replace(tzinfo=UTC)
    if expires <= datetime.now(UTC):
        raise BadRequest.field("expiresAt", "must be in the future")
    return expires


def _scopes(scopes: list[KeyScope]) -> list[str] | None:
    """Stored in a fixed order; None when the key reaches every area a user key may."""
    chosen: list[str] = [scope for scope in KEY_SCOPES if scope in scopes]
    return None if len(chosen) == len(KEY_SCOPES) else chosen


def create_api_key(
    session: Session, principal: Principal, username: str, data: ApiKeyCreate
) -> tuple[ApiKey, str]:
    account = find_account(session, principal, username)
    _require_key_making(session, principal, account)
    key = keys.generate_key(keys.KeyKind.USER)
    row = ApiKey(
        account_pk=account.pk,
        name=data.name,
        prefix=keys.display_prefix(key),
        digest=keys.digest(key),
        ip_allowlist=checked_cidrs(data.ip_allowlist),
        expires_at=future_expiry(data.expires_at),
        scopes=_scopes(data.scopes),
        # Made for another account: what its maker set binds the owner (may_widen_key_restrictions).
        restricted_by_role=None if account.pk == principal.account_pk else principal.role,
    )
    session.add(row)
    session.flush()
    bump(session, CREDENTIALS)
    _key_event(session, "api_key.created", account, row)
    return row, key


def _key_event(session: Session, kind: str, account: Account, row: ApiKey) -> None:
    """The key's id and display prefix (never enough to use it) and whose it is."""
    data = {"keyId": row.pk, "prefix": row.prefix, "name": row.name, "username": account.username}
    record_event(session, kind, account.tenant_pk, data)


def _own_key(session: Session, account: Account, username: str, key_id: int) -> ApiKey:
    row = session.scalar(select(ApiKey).where(ApiKey.pk == key_id, ApiKey.account_pk == account.pk))
    if row is None:
        raise NotFound(f"key {key_id} is not a key of {username!r}")
    return row


def apply_key_changes(row: ApiKey | TenantKey, changes: ApiKeyUpdate | TenantKeyUpdate) -> None:
    """The fields sent of a user or tenant key's name, expiry and allowlist; a revoked key stays
    revoked (409: there is nothing left to change)."""
    if row.revoked_at is not None:
        raise Conflict("The key is revoked; create a new one.")
    sent = changes.model_fields_set
    if "name" in sent and changes.name is not None:
        row.name = changes.name
    if "expires_at" in sent:
        row.expires_at = future_expiry(changes.expires_at)
    if "ip_allowlist" in sent:
        row.ip_allowlist = checked_cidrs(changes.ip_allowlist or [])


RESTRICTIONS = ("scopes", "ip_allowlist", "expires_at")


def _covered(network: ipaddress.IPv4Network | ipaddress.IPv6Network, within: list[str]) -> bool:
    for entry in within:
        outer = ipaddress.ip_network(entry)
        if network.version == outer.version and network.subnet_of(outer):  # type: ignore[arg-type]
            return True
    return False


def widened(
    row: ApiKey, scopes: list[str] | None, allowlist: list[str], expires: datetime | None
) -> list[str]:
    """Which of the key's restrictions the new values would loosen (narrowing, or keeping, none)."""
    loosened = []
    if not set(KEY_SCOPES if scopes is None else scopes) <= set(
        KEY_SCOPES if row.scopes is None else row.scopes
    ):
        loosened.append("scopes")
    if row.ip_allowlist and not (
        allowlist and all(_covered(ipaddress.ip_network(entry), row.ip_allowlist) for entry in allowlist)
    ):
        loosened.append("ipAllowlist")
    if row.expires_at is not None and (expires is None or expires > _aware(row.expires_at)):
        loosened.append("expiresAt")
    return loosened


def _restrictions_differ(
    row: ApiKey, scopes: list[str] | None, allowlist: list[str] | None, expires: datetime | None
) -> bool:
    def moment(value: datetime | None) -> datetime | None:
        return None if value is None else _aware(value)

    def reach(value: list[str] | None) -> set[str]:
        return set(KEY_SCOPES if value is None else value)  # no scopes: every scope

    return (
        reach(scopes) != reach(row.scopes)
        or set(allowlist or []) != set(row.ip_allowlist or [])
        or moment(expires) != moment(row.expires_at)
    )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _require_binding_kept(principal: Principal, row: ApiKey, owner: Account, changes: ApiKeyUpdate) -> None:
    """Restrictions set above the owner bind it (policy.may_widen_key_restrictions): 403 for a
    change that would widen them. A change of them by another account makes its role the binding
    one (kept when a lower role only narrows what a higher one set)."""
    sent = changes.model_fields_set & set(RESTRICTIONS)
    if not sent:
        return
    scopes = _scopes(changes.scopes) if "scopes" in sent and changes.scopes is not None else row.scopes
    allowlist = checked_cidrs(changes.ip_allowlist or []) if "ip_allowlist" in sent else row.ip_allowlist
    expires = future_expiry(changes.expires_at) if "expires_at" in sent else row.expires_at
    if not _restrictions_differ(row, scopes, allowlist, expires):
        return  # the same values sent again (the console's form sends them all): no one's binding
    loosened = widened(row, scopes, allowlist, expires)
    if loosened:
        decision = may_widen_key_restrictions(principal, owner.pk, row.restricted_by_role)
        if not decision.allowed:
            raise Forbidden(
                f"Not allowed: {decision.rule}: {', '.join(loosened)} may be narrowed, not widened."
            )
    setter = row.restricted_by_role
    if owner.pk != principal.account_pk and (
        setter is None or ROLE_RANK[principal.role] >= ROLE_RANK.get(setter, len(ROLE_RANK))
    ):
        row.restricted_by_role = principal.role


def update_api_key(
    session: Session, principal: Principal, username: str, key_id: int, changes: ApiKeyUpdate
) -> ApiKey:
    """Name, expiry, IP allowlist and scopes; in force on every worker at once. A revoked key stays
    revoked (409: there is nothing left to change)."""
    account = find_account(session, principal, username)
    _require_key_making(session, principal, account)
    row = _own_key(session, account, username, key_id)
    _require_binding_kept(principal, row, account, changes)
    apply_key_changes(row, changes)
    if "scopes" in changes.model_fields_set and changes.scopes is not None:
        row.scopes = _scopes(changes.scopes)
    session.flush()
    bump(session, CREDENTIALS)
    _key_event(session, "api_key.updated", account, row)
    return row


def _keys_of(session: Session, principal: Principal, username: str) -> Select[ApiKey]:
    account = find_account(session, principal, username)
    _require_key_rights(session, principal, account)
    return select(ApiKey).where(ApiKey.account_pk == account.pk)


def list_api_keys(session: Session, principal: Principal, username: str) -> list[ApiKey]:
    return list(session.scalars(_keys_of(session, principal, username).order_by(ApiKey.pk)))


def api_key_page(
    session: Session, principal: Principal, username: str, after: int | None, limit: int
) -> tuple[list[ApiKey], int]:
    """A page of the account's keys by id (see keyset_page), and how many it has."""
    return keyset_page(session, _keys_of(session, principal, username), ApiKey.pk, after, limit)


def revoke_api_key(session: Session, principal: Principal, username: str, key_id: int) -> ApiKey:
    account = find_account(session, principal, username)
    _require_key_rights(session, principal, account)
    row = _own_key(session, account, username, key_id)
    if revoke_once(session, row):
        _key_event(session, "api_key.revoked", account, row)
    return row


def revoke_once(session: Session, row: ApiKey | TenantKey) -> bool:
    """Revokes a user or tenant key on every worker at once (the credentials channel); False when
    it already was (revoking twice changes nothing)."""
    if row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    session.flush()
    bump(session, CREDENTIALS)
    return True


def key_view(row: ApiKey, key: str | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": row.pk,
        "name": row.name,
        "prefix": row.prefix,
        "createdAt": row.created_at.isoformat(),
        "expiresAt": row.expires_at.isoformat() if row.expires_at else None,
        "lastUsedAt": row.last_used_at.isoformat() if row.last_used_at else None,
        "ipAllowlist": row.ip_allowlist,
        "scopes": list(KEY_SCOPES) if row.scopes is None else row.scopes,
        "restrictedBy": row.restricted_by_role,
        "revoked": row.revoked_at is not None,
        "revokedAt": row.revoked_at.isoformat() if row.revoked_at else None,
    }
    if key is not None:
        view["key"] = key
    return view


def record_last_used(session: Session, used: dict[tuple[keys.KeyKind, int], datetime]) -> None:
    """Write when user and tenant keys were last used (batched by the maintenance task, not per
    request)."""
    for (kind, key_pk), when in used.items():
        model = TenantKey if kind is keys.KeyKind.TENANT else ApiKey
        session.execute(update(model).where(model.pk == key_pk).values(last_used_at=when))


def issue_token(session: Session, account: Account, minutes: int) -> tuple[str, datetime]:
    token = keys.generate_key(keys.KeyKind.TOKEN)
    expires = utcnow() + timedelta(minutes=minutes)
    session.add(AccessToken(account_pk=account.pk, digest=keys.digest(token), expires_at=expires))
    session.flush()
    return token, expires


def revoke_token(session: Session, principal: Principal) -> None:
    if principal.credential != "token" or principal.key_pk is None:
        raise BadRequest("Only a login token can be logged out; send it as Authorization: Bearer.")
    session.execute(update(AccessToken).where(AccessToken.pk == principal.key_pk).values(revoked_at=utcnow()))
    bump(session, CREDENTIALS)


def purge_expired_tokens(session: Session) -> None:
    from sqlalchemy import delete

    session.execute(delete(AccessToken).where(AccessToken.expires_at < utcnow() - timedelta(days=1)))
