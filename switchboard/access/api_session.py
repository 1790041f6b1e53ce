"""The API's session cookie, as APIO's gateway sets it at POST /api/v1/login/: `sessionid` holds a
login token (the same row, expiry and revocation as a bearer token), `csrftoken` its CSRF token.

The cookie is a credential of the native API only (/api/v1/), and only when the request carries
no key or token in a header. It is Secure and HttpOnly, and SameSite=Strict: no request another
site starts (a link, a form, a script) carries it, a top-level navigation included, which only a
browser UI of ours could miss, and it has none (the console has its own session). Unsafe methods
also need the X-CSRFToken header (as Django-based APIO clients send it) equal to the token derived
from the cookie: a sibling subdomain counts as the same site for SameSite and may plant cookies,
but cannot derive the token of a session it cannot read.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.responses import Response

from switchboard.access import csrf, keys
from switchboard.access.principal import Role
from switchboard.errors import Forbidden

SESSION_COOKIE = "sessionid"
CSRF_COOKIE = "csrftoken"
CSRF_HEADER = "X-CSRFToken"
CSRF_PURPOSE = b"switchboard-api-csrf"
API_PATH = "/api/v1/"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# APIO's user_level of each role: 0 end user, 4 department admin (Switchboard has no such role),
# 8 group admin, 12 tenant admin, 16 system.
# A reseller admin is APIO's system-level reseller user ("system_reseller", level 16).
USER_LEVELS: dict[Role, int] = {
    "user": 0,
    "group_admin": 8,
    "tenant_admin": 12,
    "reseller_admin": 16,
    "system": 16,
}


def session_token(request: Request) -> str | None:
    """The login token the request's session cookie holds, on the native API; else None."""
    if not request.url.path.startswith(API_PATH):
        return None
    token = request.cookies.get(SESSION_COOKIE)
    return (
        token if token and keys.is_well_formed(token) and keys.key_kind(token) is keys.KeyKind.TOKEN else None
    )


def csrf_token(token: str) -> str:
    return csrf.csrf_token(token, CSRF_PURPOSE)


def require_csrf(request: Request, token: str) -> None:
    """403 for an unsafe request on a session cookie without the session's X-CSRFToken."""
    if request.method in SAFE_METHODS:
        return
    presented = request.headers.getlist(CSRF_HEADER)
    if len(presented) != 1 or not csrf.csrf_ok(token, presented[0], CSRF_PURPOSE):
        raise Forbidden(
            f"A request on the session cookie that changes something needs the {CSRF_HEADER} header, "
            f"equal to the {CSRF_COOKIE} cookie set at login."
        )


def set_session_cookies(response: Response, token: str, seconds: int) -> None:
    response.set_cookie(
        SESSION_COOKIE, token, max_age=seconds, path=API_PATH, secure=True, httponly=True, samesite="strict"
    )
    # Readable by the page's script (that is its use), so not HttpOnly; Path=/ so a page anywhere
    # on the site can read it. It opens nothing alone: it is the proof of reading, not a key.
    response.set_cookie(
        CSRF_COOKIE,
        csrf_token(token),
        max_age=seconds,
        path="/",
        secure=True,
        httponly=False,
        samesite="strict",
    )


def clear_session_cookies(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path=API_PATH, secure=True, httponly=True, samesite="strict")
    response.delete_cookie(CSRF_COOKIE, path="/", secure=True, httponly=False, samesite="strict")


def login_answer(account: dict[str, Any]) -> dict[str, Any]:
    """APIO's login answer for an account (as account_view shows it): the ids it has, its level.
    Switchboard asks for no password change at first sign-in: is_first_login is always false."""
    ids = {
        "tenant_id": account["tenantId"],
        "group_id": account["groupId"],
        "user_id": account["linkedUserId"],
    }
    return {
        "ids": {name: value for name, value in ids.items() if value is not None},
        "profile": {"user_level": USER_LEVELS[account["role"]], "is_first_login": False},
    }
