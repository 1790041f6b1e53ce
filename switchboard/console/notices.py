"""The notice a change leaves for the page its redirect leads to ("Key 'CRM' created"): a short-lived
cookie signed with the session's secret, read once. It carries words only, never a key or a password
(those are shown once through sessions.keep_once), and nothing of it reaches a URL."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import orjson
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from switchboard.console import sessions
from switchboard.console.sessions import SignedIn

COOKIE = "__Host-sb_notice"
LIFETIME_SECONDS = 60  # the redirect is followed at once; a notice found later is stale
MAX_LENGTH = 300
_PURPOSE = b"switchboard-console-notice"


def _signature(secret: str, payload: bytes) -> str:
    return hmac.new(secret.encode(), _PURPOSE + payload, hashlib.sha256).hexdigest()


def leave(response: Response, current: SignedIn, text: str) -> Response:
    """`response` carrying `text` for the next console page this session shows."""
    body = {"text": text[:MAX_LENGTH], "until": int(time.time()) + LIFETIME_SECONDS}
    payload = base64.urlsafe_b64encode(orjson.dumps(body))
    value = f"{payload.decode()}.{_signature(current.secret, payload)}"
    sessions.set_cookie(response, COOKIE, value, LIFETIME_SECONDS)
    return response


def redirect(url: str, current: SignedIn, text: str) -> Response:
    """Post/redirect/get, with the notice for the page the redirect leads to."""
    return leave(RedirectResponse(url, status_code=303), current, text)


def take(request: Request, current: SignedIn) -> str | None:
    """The notice left for this session, if fresh and signed with its secret."""
    value = request.cookies.get(COOKIE)
    if not value or "." not in value:
        return None
    payload, signature = value.rsplit(".", 1)
    if not hmac.compare_digest(signature, _signature(current.secret, payload.encode())):
        return None
    try:
        body = orjson.loads(base64.urlsafe_b64decode(payload))
    except (ValueError, orjson.JSONDecodeError):
        return None
    if not isinstance(body, dict) or int(body.get("until", 0)) < time.time():
        return None
    text = body.get("text")
    return text if isinstance(text, str) else None


def forget(response: Response) -> None:
    sessions.forget_cookie(response, COOKIE)
