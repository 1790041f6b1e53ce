"""Tenant keys: a tenant's own global key, acting as a tenant admin inside its tenant only."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from switchboard.access import keys
from switchboard.access.accounts import CREDENTIALS
from switchboard.access.api_keys import apply_key_changes, checked_cidrs, future_expiry, revoke_once
from switchboard.access.models import TenantKey
from switchboard.access.policy import Kind, first_visible, require_manage, target_in
from switchboard.access.principal import Principal
from switchboard.access.schemas import TenantKeyCreate, TenantKeyUpdate
from switchboard.db.base import utcnow
from switchboard.directory.models import Tenant
from switchboard.directory.service import find_tenant
from switchboard.errors import Conflict, NotFound
from switchboard.events.log import record_event
from switchboard.signals.feed import bump


def keys_tenant(session: Session, principal: Principal, tenant_id: str) -> Tenant:
    """The tenant whose keys the principal manages: another tenant is 'not found' (as a missing
    one), and only its administrators and the system may hold or see its keys (403)."""
    tenant = find_tenant(session, principal, tenant_id)
    require_manage(principal, target_in(Kind.TENANT_KEY, tenant))
    return tenant


def find_tenant_key(session: Session, principal: Principal, tenant_id: str, key_id: int) -> TenantKey:
    tenant = keys_tenant(session, principal, tenant_id)
    stmt = select(TenantKey).where(TenantKey.pk == key_id, TenantKey.tenant_pk == tenant.pk)
    row = first_visible(session, principal, Kind.TENANT_KEY, stmt)
    if row is None:
        raise NotFound(f"key {key_id} is not a key of tenant {tenant_id!r}")
    return row


def _issue(
    session: Session,
    principal: Principal,
    tenant: Tenant,
    name: str,
    expires_at: datetime | None,
    allowlist: list[str],
) -> tuple[TenantKey, str]:
    key = keys.generate_key(keys.KeyKind.TENANT)
    row = TenantKey(
        tenant_pk=tenant.pk,
        name=name,
        prefix=keys.display_prefix(key),
        digest=keys.digest(key),
        ip_allowlist=allowlist,
        expires_at=expires_at,
        created_by=principal.audit_name,
    )
    session.add(row)
    session.flush()
    bump(session, CREDENTIALS)
    _event(session, "tenant_key.created", row, tenant)
    return row, key


def key_tenant_id(session: Session, key_id: int) -> str:
    """The tenant of a key, for callers that name the key alone (the shell, with system rights)."""
    tenant_id = session.scalar(
        select(Tenant.tenant_id)
        .join(TenantKey, TenantKey.tenant_pk == Tenant.pk)
        .where(TenantKey.pk == key_id)
    )
    if tenant_id is None:
        raise NotFound(f"no tenant key {key_id}")
    return tenant_id


def in_force(session: Session, tenant_id: str) -> bool:
    """Does the tenant hold a key that works now (not revoked, not expired)?"""
    now = utcnow()
    stmt = (
        select(TenantKey.pk)
        .join(Tenant, Tenant.pk == TenantKey.tenant_pk)
        .where(
            Tenant.tenant_key == tenant_id.lower(),
            TenantKey.revoked_at.is_(None),
            (TenantKey.expires_at.is_(None)) | (TenantKey.expires_at > now),
        )
        .limit(1)
    )
    return session.scalar(stmt) is not None


def create_tenant_key(
    session: Session, principal: Principal, tenant_id: str, data: TenantKeyCreate
) -> tuple[TenantKey, str]:
    """A new key of the tenant; the key itself is returned this once (only its digest is kept)."""
    tenant = keys_tenant(session, principal, tenant_id)
    return _issue(
        session,
        principal,
        tenant,
        data.name,
        future_expiry(data.expires_at),
        checked_cidrs(data.ip_allowlist or []),
    )


def list_tenant_keys(
    session: Session, principal: Principal, tenant_id: str, after: int | None, limit: int
) -> tuple[list[TenantKey], int]:
    """Up to limit + 1 keys after the cursor, by id (the extra one says there are more), and the total."""
    tenant = keys_tenant(session, principal, tenant_id)
    of_tenant = TenantKey.tenant_pk == tenant.pk
    stmt = select(TenantKey).where(of_tenant).order_by(TenantKey.pk).limit(limit + 1)
    if after is not None:
        stmt = stmt.where(TenantKey.pk > after)
    total = session.scalar(select(func.count()).select_from(TenantKey).where(of_tenant)) or 0
    return list(session.scalars(stmt)), total


def update_tenant_key(
    session: Session, principal: Principal, tenant_id: str, key_id: int, changes: TenantKeyUpdate
) -> TenantKey:
    """Name, expiry and IP allowlist; in force on every worker at once. A revoked key stays revoked."""
    row = find_tenant_key(session, principal, tenant_id, key_id)
    apply_key_changes(row, changes)
    session.flush()
    bump(session, CREDENTIALS)
    _event(session, "tenant_key.updated", row, None)
    return row


def revoke_tenant_key(session: Session, principal: Principal, tenant_id: str, key_id: int) -> TenantKey:
    """Stops the key on every worker at once (the credentials channel); revoking twice is no change."""
    row = find_tenant_key(session, principal, tenant_id, key_id)
    if revoke_once(session, row):
        _event(session, "tenant_key.revoked", row, None)
    return row


def rotate_tenant_key(
    session: Session, principal: Principal, tenant_id: str, key_id: int, grace: timedelta
) -> tuple[TenantKey, str]:
    """A new key with the old one's name, expiry and allowlist; the old one keeps working for
    `grace` (as the global key's rotation), then stops. Zero grace revokes it at once."""
    old = find_tenant_key(session, principal, tenant_id, key_id)
    if old.revoked_at is not None:
        raise Conflict("The key is revoked; create a new one.")
    now = utcnow()
    if old.expires_at is not None and old.expires_at <= now:
        raise Conflict("The key has expired; create a new one.")
    tenant = session.get_one(Tenant, old.tenant_pk)
    row, key = _issue(session, principal, tenant, old.name, old.expires_at, list(old.ip_allowlist))
    if grace <= timedelta(0):
        old.revoked_at = now
    elif old.expires_at is None or old.expires_at > now + grace:
        old.expires_at = now + grace
    session.flush()
    _event(session, "tenant_key.updated", old, tenant)
    return row, key


def _event(session: Session, kind: str, row: TenantKey, tenant: Tenant | None) -> None:
    """The key's id and display prefix (never enough to use it) and its tenant."""
    tenant_id = (tenant or session.get_one(Tenant, row.tenant_pk)).tenant_id
    data = {"keyId": row.pk, "prefix": row.prefix, "name": row.name, "tenantId": tenant_id}
    record_event(session, kind, row.tenant_pk, data)


def tenant_key_view(session: Session, row: TenantKey, key: str | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "keyId": row.pk,
        "tenantId": session.get_one(Tenant, row.tenant_pk).tenant_id,
        "name": row.name,
        "prefix": row.prefix,
        "createdAt": row.created_at.isoformat(),
        "createdBy": row.created_by,
        "expiresAt": row.expires_at.isoformat() if row.expires_at else None,
        "lastUsedAt": row.last_used_at.isoformat() if row.last_used_at else None,
        "ipAllowlist": row.ip_allowlist,
        "revoked": row.revoked_at is not None,
        "revokedAt": row.revoked_at.isoformat() if row.revoked_at else None,
    }
    if key is not None:
        view["key"] = key
    return view
