"""CSRF tokens of cookie-borne credentials: derived from the cookie's secret, so a site that
cannot read the cookie cannot make one, and the server keeps nothing for it."""

from __future__ import annotations

import hashlib
import hmac


def csrf_token(secret: str, purpose: bytes) -> str:
    """The token of a cookie's secret for one purpose (a console form, an API request)."""
    return hmac.new(secret.encode(), purpose, hashlib.sha256).hexdigest()


def csrf_ok(secret: str | None, presented: str | None, purpose: bytes) -> bool:
    return bool(secret and presented) and hmac.compare_digest(
        csrf_token(secret or "", purpose), presented or ""
    )
