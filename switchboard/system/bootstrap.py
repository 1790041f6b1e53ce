"""First-time initialisation: the global API key and the first system administrator."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from switchboard.access import keys
from switchboard.access.models import Account
from switchboard.access.passwords import generate_password, hash_password
from switchboard.db.base import utcnow
from switchboard.system.store import DEFAULT_DOMAIN, DEFAULTS, GLOBAL_API_KEYS, read_setting, write_setting

ADMIN_USERNAME = "admin"


@dataclass(frozen=True)
class Credentials:
    """Shown once, never stored in clear."""

    global_api_key: str
    admin_password: str


def is_initialised(session: Session) -> bool:
    return bool(read_setting(session, GLOBAL_API_KEYS))


def global_key_entry(key: str) -> dict[str, str | None]:
    return {
        "digest": keys.digest(key),
        "prefix": keys.display_prefix(key),
        "createdAt": utcnow().isoformat(),
        "expiresAt": None,
    }


def initialise(session: Session) -> Credentials | None:
    """Create the global key and the admin account; None when already done (nothing changes)."""
    if is_initialised(session):
        return None
    key = keys.generate_key(keys.KeyKind.GLOBAL)
    write_setting(session, GLOBAL_API_KEYS, [global_key_entry(key)])
    write_setting(session, DEFAULT_DOMAIN, DEFAULTS[DEFAULT_DOMAIN])
    password = generate_password()
    session.add(
        Account(
            username=ADMIN_USERNAME,
            username_key=ADMIN_USERNAME,
            display_name="System administrator",
            role="system",
            password_hash=hash_password(password),
        )
    )
    session.flush()
    return Credentials(global_api_key=key, admin_password=password)


def rotate_global_key(session: Session, grace: timedelta) -> str:
    """Issue a new global key; keys in use now stop working when `grace` has passed."""
    new_key = keys.generate_key(keys.KeyKind.GLOBAL)
    deadline = utcnow() + grace
    kept = []
    for entry in read_setting(session, GLOBAL_API_KEYS) or []:
        expires = entry.get("expiresAt")
        if expires is None or datetime.fromisoformat(expires) > deadline:
            entry = {**entry, "expiresAt": deadline.isoformat()}
        if datetime.fromisoformat(entry["expiresAt"]) > utcnow():
            kept.append(entry)
    write_setting(session, GLOBAL_API_KEYS, [*kept, global_key_entry(new_key)])
    return new_key
