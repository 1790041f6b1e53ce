"""Every error a client may see, each class carrying its HTTP status; rendering lives in web/.

This module imports nothing from the package, so every layer can raise these."""

from __future__ import annotations

from typing import Any


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

    def __init__(self, detail: str, *, reason: str = "") -> None:
        # The audit log's words, when the client's would not read well there.
        super().__init__(detail)
        self.reason = reason or detail

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


class UnprocessableContent(SwitchboardError):
    """Well-formed, but at odds with what the server holds (an Idempotency-Key used for another request)."""

    status = 422
    title = "Unprocessable Content"


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


class GatewayTimeout(SwitchboardError):
    status = 504
    title = "Gateway Timeout"


class ContentTooLarge(SwitchboardError):
    status = 413
    title = "Content Too Large"


class UriTooLong(SwitchboardError):
    status = 414
    title = "URI Too Long"


class UnsupportedMediaType(SwitchboardError):
    status = 415
    title = "Unsupported Media Type"
