"""Accounts: who signs in, with which role and scope."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.db.base import Base, JSONType, TZDateTime, key_string, utcnow


class Account(Base):
    __tablename__ = "accounts"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    username_key: Mapped[str] = mapped_column(key_string(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(80), default="")
    email: Mapped[str] = mapped_column(String(80), default="")
    role: Mapped[str] = mapped_column(String(20))
    tenant_pk: Mapped[int | None] = mapped_column(ForeignKey("tenants.pk", ondelete="CASCADE"), index=True)
    group_pk: Mapped[int | None] = mapped_column(ForeignKey("groups.pk", ondelete="CASCADE"), index=True)
    user_pk: Mapped[int | None] = mapped_column(ForeignKey("users.pk", ondelete="SET NULL"), index=True)
    # A reseller admin's reseller (its view: that reseller's tenants); NULL for every other role.
    reseller_pk: Mapped[int | None] = mapped_column(
        ForeignKey("resellers.pk", ondelete="CASCADE"), index=True, default=None
    )
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    # The console's Basic / Advanced mode, remembered for the user (Noojee's page: "Switch to 'Advanced'").
    console_mode: Mapped[str] = mapped_column(String(10), default="basic", server_default="basic")
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        CheckConstraint(
            "role IN ('system', 'reseller_admin', 'tenant_admin', 'group_admin', 'user')", name="role"
        ),
    )


class ApiKey(Base):
    """A user API key (as Noojee's): belongs to an account, shown once, stored as a SHA-256 digest."""

    __tablename__ = "api_keys"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_pk: Mapped[int] = mapped_column(ForeignKey("accounts.pk", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    prefix: Mapped[str] = mapped_column(String(16))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    # CIDRs; empty means "the system allowlist alone decides".
    ip_allowlist: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # Areas among those a user key reaches (campaigns, calls, recordings); NULL means all of them.
    scopes: Mapped[list[str] | None] = mapped_column(JSONType, nullable=True)
    # The role of whoever, other than the owner, set the scopes, allowlist and expiry (NULL: the
    # owner did): such restrictions bind the owner, who may narrow them but not widen them.
    restricted_by_role: Mapped[str | None] = mapped_column(String(20), nullable=True)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)


class AccessToken(Base):
    """A login token: opaque bearer credential of an account, short-lived and revocable."""

    __tablename__ = "access_tokens"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_pk: Mapped[int] = mapped_column(ForeignKey("accounts.pk", ondelete="CASCADE"), index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(TZDateTime, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)


class TenantKey(Base):
    """A tenant key: the tenant's own global key (a Noojee customer's), acting as a tenant admin of
    its tenant only; shown once, stored as a SHA-256 digest."""

    __tablename__ = "tenant_keys"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_pk: Mapped[int] = mapped_column(ForeignKey("tenants.pk", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    prefix: Mapped[str] = mapped_column(String(16))
    digest: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    # CIDRs; empty means "the system allowlist alone decides".
    ip_allowlist: Mapped[list[str]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))  # the creator's audit name
    expires_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)


class ConsoleSession(Base):
    """One signed-in browser of the console: a credential like a login token (so it lives here,
    where the account services can end it), stored as a digest of the cookie's secret. The
    account's role and scope at sign-in are kept: a session whose account has since changed role
    or scope is no longer valid (the user signs in again)."""

    __tablename__ = "console_sessions"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_pk: Mapped[int] = mapped_column(ForeignKey("accounts.pk", ondelete="CASCADE"), index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    tenant_pk: Mapped[int | None] = mapped_column(Integer)
    group_pk: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(TZDateTime, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    # A value for the next page only (a new key), sealed with the cookie's secret: see
    # console.sessions.keep_once.
    once_sealed: Mapped[str | None] = mapped_column(Text)
