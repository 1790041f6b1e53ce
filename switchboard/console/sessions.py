"""Console sessions: a random secret in a Secure, HttpOnly, SameSite=Strict cookie, its SHA-256
digest in the database, a CSRF token derived from it, idle and absolute expiry.

The cookie is only ever read by the console's routes: /api/v1 resolves credentials from headers
and from its own session cookie (access.api_session), never from this one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from starlette.responses import Response

from switchboard.access import csrf
from switchboard.access.models import Account, ConsoleSession
from switchboard.access.principal import Principal
from switchboard.db.base import utcnow

COOKIE = "__Host-sb_session"  # __Host-: Secure, Path=/, no Domain, or the browser refuses it
PRE_COOKIE = "__Host-sb_presession"  # CSRF for the sign-in form, before any session exists
IDLE = timedelta(minutes=30)
LIFETIME = timedelta(hours=12)
TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


CSRF_PURPOSE = b"switchboard-console-csrf"


def csrf_token(secret: str) -> str:
    """The form token of a session (or pre-session) secret: unguessable without the cookie."""
    return csrf.csrf_token(secret, CSRF_PURPOSE)


def csrf_ok(secret: str | None, presented: str | None) -> bool:
    return csrf.csrf_ok(secret, presented, CSRF_PURPOSE)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class SignedIn:
    principal: Principal
    display_name: str
    secret: str  # the cookie's, for the CSRF token of its forms


def start(session: Session, account_pk: int, now: datetime | None = None) -> str:
    """A new session for the account (a new secret at every sign-in); returns the cookie value."""
    now = now or utcnow()
    account = session.get_one(Account, account_pk)
    secret = new_secret()
    session.add(
        ConsoleSession(
            account_pk=account.pk,
            digest=digest(secret),
            role=account.role,
            tenant_pk=account.tenant_pk,
            group_pk=account.group_pk,
            created_at=now,
            last_seen_at=now,
            expires_at=now + LIFETIME,
        )
    )
    return secret


def resolve(session: Session, secret: str, now: datetime | None = None) -> SignedIn | None:
    """The signed-in account, or None: unknown, ended, idle too long, past its lifetime, account
    disabled, or its role or scope changed since sign-in."""
    now = now or utcnow()
    row = session.execute(
        select(ConsoleSession, Account)
        .join(Account, Account.pk == ConsoleSession.account_pk)
        .where(ConsoleSession.digest == digest(secret))
    ).first()
    if row is None:
        return None
    console, account = row
    placement_kept = (console.role, console.tenant_pk, console.group_pk) == (
        account.role,
        account.tenant_pk,
        account.group_pk,
    )
    if (
        console.revoked_at is not None
        or console.expires_at <= now
        or console.last_seen_at + IDLE <= now
        or not account.enabled
        or not placement_kept
    ):
        return None
    if now - console.last_seen_at >= TOUCH_EVERY:
        console.last_seen_at = now
    principal = Principal(
        credential="session",
        role=account.role,  # type: ignore[arg-type]
        account_pk=account.pk,
        username=account.username,
        tenant_pk=account.tenant_pk,
        group_pk=account.group_pk,
        user_pk=account.user_pk,
        reseller_pk=account.reseller_pk,
        key_pk=console.pk,  # the session row: a password change made here keeps this session
        key_prefix=f"console:{console.pk}",
    )
    return SignedIn(principal, account.display_name or account.username, secret)


def end(session: Session, secret: str) -> None:
    session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.digest == digest(secret), ConsoleSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), once_sealed=None)
    )


def _once_box(secret: str) -> Fernet:
    # Keyed by the cookie's secret, which the database does not hold: a dump cannot open the value.
    key = hmac.new(secret.encode(), b"switchboard-console-once", hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def keep_once(session: Session, secret: str, value: dict[str, Any]) -> None:
    """Keeps a value (a new key) for the session's next page only, in the caller's transaction."""
    sealed = _once_box(secret).encrypt(orjson.dumps(value)).decode()
    session.execute(
        update(ConsoleSession).where(ConsoleSession.digest == digest(secret)).values(once_sealed=sealed)
    )


def take_once(session: Session, secret: str) -> dict[str, Any] | None:
    """The kept value, erased as it is read: a reload (or a second tab) finds nothing."""
    row = session.scalar(select(ConsoleSession.once_sealed).where(ConsoleSession.digest == digest(secret)))
    if row is None:
        return None
    # Erased only if still the value read: of two readers at once, one gets it.
    taken = session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.digest == digest(secret), ConsoleSession.once_sealed == row)
        .values(once_sealed=None)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        return None
    try:
        value: dict[str, Any] = orjson.loads(_once_box(secret).decrypt(row.encode()))
    except InvalidToken:
        return None
    return value


def set_cookie(response: Response, name: str, value: str, max_age: int) -> None:
    """A console cookie: sent over HTTPS only, never to scripts, never on another site's request."""
    response.set_cookie(name, value, max_age=max_age, path="/", secure=True, httponly=True, samesite="strict")


def forget_cookie(response: Response, name: str) -> None:
    response.delete_cookie(name, path="/", secure=True, httponly=True, samesite="strict")
