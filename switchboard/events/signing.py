"""Webhook signing secrets: made in the key format, kept encrypted with a key outside the
database (a dump alone cannot forge a signature), and the signature receivers verify."""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from switchboard.access.keys import KeyKind, generate_key
from switchboard.settings import Settings

KEY_FILE = "webhook-secrets.key"
SIGNATURE_HEADER = "Switchboard-Signature"


class SecretBox:
    """Seals and opens signing secrets with the operator's key (Fernet: AES-128-CBC + HMAC)."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        """SWITCHBOARD_WEBHOOK_KEY if set, else the key file in the data directory (made once,
        readable by its owner only)."""
        if settings.webhook_key is not None:
            return cls(settings.webhook_key.get_secret_value().encode())
        path = Path(settings.data_dir) / KEY_FILE
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            # Written whole under a private name, then linked into place: a process starting at
            # the same moment finds no file or a complete one, never an empty one; one key wins.
            draft = path.with_name(f".{KEY_FILE}.{os.getpid()}")
            descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "wb") as file:
                file.write(Fernet.generate_key())
            try:
                os.link(draft, path)
            except FileExistsError:  # another process made it first: use that one
                pass
            finally:
                draft.unlink()
        return cls(path.read_bytes().strip())

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("the webhook key does not open this secret (was the key changed?)") from exc


def new_secret() -> str:
    return generate_key(KeyKind.WEBHOOK_SECRET)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The header value: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"
