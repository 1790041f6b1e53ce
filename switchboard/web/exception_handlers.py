"""Errors as the client reads them: problem+json (RFC 9457), or a surface's own envelope under its
prefix; the app's exception handlers, installed once by create_app."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from switchboard.db.failures import database_error_bases, database_unavailable, is_database_unavailable
from switchboard.errors import BadRequest, ContentTooLarge, MethodNotAllowed, NotFound, SwitchboardError

PROBLEM_JSON = "application/problem+json"
_log = logging.getLogger("switchboard.error")

# FastAPI's words for a body its parser gave up on; ours say which ways a body can be unreadable.
_FASTAPI_UNREADABLE_BODY = "There was an error parsing the body"
UNREADABLE_BODY = "could not be parsed: not UTF-8 JSON, or nested deeper than the parser allows"

Envelope = Callable[[SwitchboardError, "dict[str, str] | None"], Response]


def problem_response(error: SwitchboardError, extra_headers: dict[str, str] | None = None) -> Response:
    headers = {**error.headers(), **(extra_headers or {})}
    return Response(
        orjson.dumps(error.body()),
        status_code=error.status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


class ErrorRenderer:
    """Answers an error as the surface under the request's path speaks: an envelope registered for
    its prefix, problem+json everywhere else."""

    def __init__(self, envelopes: Mapping[str, Envelope]) -> None:
        self._envelopes = tuple(envelopes.items())

    def __call__(
        self, path: str, error: SwitchboardError, extra_headers: dict[str, str] | None = None
    ) -> Response:
        for prefix, envelope in self._envelopes:
            if path.startswith(prefix):
                return envelope(error, extra_headers)
        return problem_response(error, extra_headers)


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


def install_error_handlers(
    app: FastAPI, render: ErrorRenderer, on_refusal: Callable[[Request, SwitchboardError], None]
) -> None:
    """Every exception a route can raise, answered by `render`; refusals are also told to `on_refusal`."""

    async def on_domain_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SwitchboardError)
        on_refusal(request, exc)
        return render(request.url.path, exc)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return render(request.url.path, validation_problem(exc))

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404:
            return await on_domain_error(request, NotFound("no such route"))
        if exc.status_code == 400 and exc.detail == _FASTAPI_UNREADABLE_BODY:
            return render(request.url.path, BadRequest.field("body", UNREADABLE_BODY))
        if exc.status_code == 413:  # from web.request_limits, once a streamed body passes the limit
            return render(request.url.path, ContentTooLarge(str(exc.detail)))
        if exc.status_code == 405:
            return render(
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
        return render(request.url.path, database_unavailable(exc))

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        # Logged with its traceback by the access-log middleware; the client learns nothing.
        if is_database_unavailable(exc):
            return render(request.url.path, database_unavailable(exc))
        return render(request.url.path, SwitchboardError("An internal error occurred."))

    app.add_exception_handler(SwitchboardError, on_domain_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    for database_error in database_error_bases():
        app.add_exception_handler(database_error, on_database_error)
    app.add_exception_handler(Exception, on_unexpected)
