"""/console/: sign in, sign out, home and the stylesheet (server-rendered; forms work without
JavaScript). The pages of each area are in their own modules (accounts.py, ...)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from switchboard.console import sessions
from switchboard.console.pages import (
    EXPIRED_FORM,
    HERE,
    PAGE_HEADERS,
    console_action,
    console_page,
    page,
    refused,
)
from switchboard.errors import NotFound, TooManyRequests, Unauthorized
from switchboard.kit.entry_points import CONSOLE
from switchboard.web.state import database_of, services_of

router = APIRouter(prefix="/console", include_in_schema=False)
ALREADY_SHOWN = (
    "A new key is shown once only, on the page right after it was made; it is not shown again "
    "(and reloading made no other key). If it was not copied, revoke it and make another."
)


@router.get("/")
def home(request: Request) -> Response:
    current = console_page(request)
    if isinstance(current, Response):
        return current
    return page(request, "home.html", current)


@router.get("/sign-in")
def sign_in_form(request: Request) -> Response:
    """The form; its CSRF token is tied to a pre-session cookie set here."""
    pre = request.cookies.get(sessions.PRE_COOKIE) or sessions.new_secret()
    response = page(request, "sign_in.html", csrf=sessions.csrf_token(pre), username="", error=None)
    sessions.set_cookie(response, sessions.PRE_COOKIE, pre, 3600)
    return response


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    """The same answer, after the same work, for a wrong name and a wrong password. Failures count
    against the API login's budget per address and per account (one budget for every way of
    signing in): past it, a 429 page says when to try again. A new session (a new cookie) at every
    sign-in."""
    form = {key: value for key, value in (await request.form()).items() if isinstance(value, str)}
    pre = request.cookies.get(sessions.PRE_COOKIE)
    if pre is None or not sessions.csrf_ok(pre, form.get("csrf")):
        return refused(request, None, "Refused", EXPIRED_FORM, 403)
    username, password = form.get("username", "")[:64], form.get("password", "")[:200]
    client = request.client.host if request.client else "-"
    try:
        account_pk = await services_of(request).login.sign_in(client, username, password)
    except (Unauthorized, TooManyRequests) as error:
        csrf = sessions.csrf_token(pre)
        response = page(
            request, "sign_in.html", None, error.status, csrf=csrf, username=username, error=error.detail
        )
        if isinstance(error, TooManyRequests):
            response.headers.update(error.headers())  # Retry-After
        return response

    def start() -> str:
        with database_of(request).transaction() as session:
            return sessions.start(session, account_pk)

    secret = await run_in_threadpool(start)
    response = RedirectResponse("/console/", status_code=303)
    sessions.set_cookie(response, sessions.COOKIE, secret, int(sessions.LIFETIME.total_seconds()))
    sessions.forget_cookie(response, sessions.PRE_COOKIE)
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    def work(session: Session, current: sessions.SignedIn, form: dict[str, str]) -> None:
        sessions.end(session, current.secret)

    done = await console_action(request, work)
    if isinstance(done, Response):
        return done
    response = RedirectResponse("/console/sign-in", status_code=303)
    sessions.forget_cookie(response, sessions.COOKIE)
    return response


@router.get("/new-key")
def new_key(request: Request) -> Response:
    """The key a form just made (see pages.show_new_key_next), shown this once."""
    current = console_page(request)
    if isinstance(current, Response):
        return current
    with database_of(request).transaction() as session:
        shown = sessions.take_once(session, current.secret)
    if shown is None:
        return refused(request, current, "Already shown", ALREADY_SHOWN, 410)
    return page(request, "key_created.html", current, **shown)


STATIC_TYPES = {
    "console.css": "text/css",
    "console.js": "text/javascript",
    "favicon.svg": "image/svg+xml",
    "favicon.ico": "image/vnd.microsoft.icon",
}
# An icon may be kept a day: browsers ask for it at every page otherwise.
ICON_HEADERS = {**PAGE_HEADERS, "Cache-Control": "max-age=86400"}


@router.get("/static/{name}")
def static_file(name: str) -> Response:
    """The stylesheet, the script and the icon (a fixed list: no path from the request reaches the disk)."""
    media_type = STATIC_TYPES.get(name)
    if media_type is None:
        raise NotFound(f"no static file {name}")
    headers = ICON_HEADERS if media_type.startswith("image/") else PAGE_HEADERS
    return Response((HERE / "static" / name).read_bytes(), media_type=media_type, headers=headers)


# The site's root and its icon: outside /console/, so in a router of their own (no prefix).
front_router = APIRouter(include_in_schema=False)


@front_router.api_route("/", methods=["GET", "HEAD"])  # HEAD: `curl -I` answers too
async def front_door() -> Response:
    """The console is the front door (the API's index is at /api/v1/). A path, not a URL: a
    Location built from the Host header could send the browser elsewhere."""
    return RedirectResponse(CONSOLE.path, status_code=302)


@front_router.api_route("/favicon.ico", methods=["GET", "HEAD"])
def favicon() -> Response:
    """For clients that ask before (or without) reading a page's <link rel="icon">: an icon, not a
    404 and its audit line at every page view."""
    return static_file("favicon.ico")
