"""Domain errors carrying their HTTP status, and the one problem+json (RFC 9457) renderer."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

PROBLEM_JSON = "application/problem+json"
_log = logging.getLogger("switchboard.error")


class SwitchboardError(Exception):
    """Base of every error a client may see; subclasses fix the status and title."""

    status = 500
    title = "Internal Server Error"

    def __init__(self, detail: str, *, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors

    def body(self) -> dict[str, Any]:
        problem: dict[str, Any] = {
            "type": "about:blank",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors:
            problem["errors"] = self.errors
        return problem

    def headers(self) -> dict[str, str]:
        return {}


class BadRequest(SwitchboardError):
    status = 400
    title = "Bad Request"

    @classmethod
    def field(cls, field: str, reason: str) -> BadRequest:
        return cls(f"{field}: {reason}", errors=[{"field": field, "reason": reason}])


class Unauthorized(SwitchboardError):
    status = 401
    title = "Unauthorized"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="switchboard"'}


class Forbidden(SwitchboardError):
    status = 403
    title = "Forbidden"


class NotFound(SwitchboardError):
    """Missing, invisible or mismatched: one response for all, so nothing can be enumerated."""

    status = 404
    title = "Not Found"

    def __init__(self, reason: str = "") -> None:
        # The reason is for the audit log only; the client always sees the same detail.
        super().__init__("The requested object was not found.")
        self.reason = reason


class MethodNotAllowed(SwitchboardError):
    status = 405
    title = "Method Not Allowed"

    def __init__(self, detail: str, allow: str = "") -> None:
        super().__init__(detail)
        self.allow = allow

    def headers(self) -> dict[str, str]:
        return {"Allow": self.allow} if self.allow else {}


class Conflict(SwitchboardError):
    status = 409
    title = "Conflict"


class TooManyRequests(SwitchboardError):
    status = 429
    title = "Too Many Requests"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = max(1, retry_after)

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class ServiceUnavailable(SwitchboardError):
    status = 503
    title = "Service Unavailable"


# FastAPI's words for a body its parser gave up on; ours say which ways a body can be unreadable.
_FASTAPI_UNREADABLE_BODY = "There was an error parsing the body"
UNREADABLE_BODY = "could not be parsed: not UTF-8 JSON, or nested deeper than the parser allows"


def error_response(
    path: str, error: SwitchboardError, extra_headers: dict[str, str] | None = None
) -> Response:
    """The error as the surface speaks: Noojee's envelope under its prefix, problem+json elsewhere."""
    from switchboard.noojee.envelope import NOOJEE_PREFIX, error_envelope

    if path.startswith(NOOJEE_PREFIX):
        return error_envelope(error, extra_headers)
    return problem_response(error, extra_headers)


def problem_response(error: SwitchboardError, extra_headers: dict[str, str] | None = None) -> Response:
    headers = {**error.headers(), **(extra_headers or {})}
    return Response(
        orjson.dumps(error.body()),
        status_code=error.status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _location(loc: tuple[int | str, ...]) -> str:
    # ("body", "groupName") -> "groupName"; ("query", "limit") -> "limit"
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def validation_problem(exc: RequestValidationError) -> BadRequest:
    errors = []
    for err in exc.errors():
        field = _location(tuple(err.get("loc", ())))
        reason = str(err.get("msg", "invalid"))
        if err.get("type") == "extra_forbidden":
            reason = "unknown field"
        errors.append({"field": field, "reason": reason})
    detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors) or "invalid request"
    return BadRequest(detail, errors=errors)


def is_database_unavailable(exc: BaseException) -> bool:
    """Connection-level database failures (not bad SQL): the caller should retry later."""
    import sqlite3

    from sqlalchemy.exc import InterfaceError, OperationalError

    # sqlite3.OperationalError: the raw hot-path connections' locked / full / I/O errors, which the
    # engine's connections raise wrapped in SQLAlchemy's OperationalError.
    unavailable = (
        OperationalError | InterfaceError | ConnectionError | TimeoutError | sqlite3.OperationalError
    )
    if isinstance(exc, unavailable):
        return True
    return type(exc).__module__.startswith("asyncpg") and "Connection" in type(exc).__name__


def is_storage_full(exc: BaseException) -> bool:
    """The database refused a write for want of space (SQLite's SQLITE_FULL, PostgreSQL's 53100)."""
    orig = getattr(exc, "orig", None) or exc
    return "database or disk is full" in str(orig) or type(orig).__name__ in ("DiskFull", "DiskFullError")


def database_unavailable(exc: BaseException) -> ServiceUnavailable:
    if is_storage_full(exc):
        return ServiceUnavailable(
            "The database is out of storage space: nothing was written. Writes will work again once "
            "the operator frees space; reads are unaffected."
        )
    return ServiceUnavailable("The database is unavailable; try again shortly.")


def install_error_handlers(app: FastAPI) -> None:
    async def on_domain_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SwitchboardError)
        from switchboard.audit.recording import audit_refusal

        audit_refusal(request, exc)
        return error_response(request.url.path, exc)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return error_response(request.url.path, validation_problem(exc))

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404:
            return await on_domain_error(request, NotFound("no such route"))
        if exc.status_code == 400 and exc.detail == _FASTAPI_UNREADABLE_BODY:
            return error_response(request.url.path, BadRequest.field("body", UNREADABLE_BODY))
        if exc.status_code == 413:  # from switchboard.request_limits, once a streamed body passes the limit
            return error_response(request.url.path, ContentTooLarge(str(exc.detail)))
        if exc.status_code == 405:
            return error_response(
                request.url.path,
                MethodNotAllowed("This method is not allowed on this resource."),
                dict(exc.headers or {}),
            )
        error = SwitchboardError(str(exc.detail))
        error.status = exc.status_code
        error.title = "Error"
        return problem_response(error, dict(exc.headers or {}))

    async def on_database_error(request: Request, exc: Exception) -> Response:
        # Answered here rather than by on_unexpected: the handler for Exception runs in Starlette's
        # outermost middleware, which re-raises after answering, so the server logged a 500 with a
        # traceback and closed the client's connection for a plain "database away" 503.
        if not is_database_unavailable(exc):
            raise exc
        driver_error = getattr(exc, "orig", None) or exc
        _log.warning(
            "database unavailable on %s %s: %s", request.method, request.url.path, type(driver_error).__name__
        )
        return error_response(request.url.path, database_unavailable(exc))

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        # Logged with its traceback by the access-log middleware; the client learns nothing.
        if is_database_unavailable(exc):
            return error_response(request.url.path, database_unavailable(exc))
        return error_response(request.url.path, SwitchboardError("An internal error occurred."))

    app.add_exception_handler(SwitchboardError, on_domain_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    for database_error in _database_error_bases():
        app.add_exception_handler(database_error, on_database_error)
    app.add_exception_handler(Exception, on_unexpected)


def _database_error_bases() -> tuple[type[Exception], ...]:
    """The classes every error is_database_unavailable accepts derives from."""
    import sqlite3

    import asyncpg
    from sqlalchemy.exc import DBAPIError

    return (DBAPIError, OSError, sqlite3.Error, asyncpg.PostgresError, asyncpg.InterfaceError)


class ContentTooLarge(SwitchboardError):
    status = 413
    title = "Content Too Large"


class UriTooLong(SwitchboardError):
    status = 414
    title = "URI Too Long"


class UnsupportedMediaType(SwitchboardError):
    status = 415
    title = "Unsupported Media Type"
