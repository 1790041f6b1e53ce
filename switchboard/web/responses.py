"""JSON responses serialised once with orjson, and the error statuses each route documents."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from switchboard.kit.schemas import Schema
from switchboard.web.request_limits import MAX_QUERY_BYTES


class Problem(Schema):
    """RFC 9457 problem details: the one error shape of /api/v1."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[dict[str, str]] | None = None


def json_response(body: Any, status_code: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status_code, media_type="application/json")


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problem responses a route can give."""
    described = {
        400: "Invalid input; the body names the field and why",
        401: "No valid credential",
        403: "The credential may not perform this operation",
        404: "Not found, not visible to the caller, or ids that do not belong together",
        409: "Duplicate, or a limit or dependency would be violated",
        414: f"The query string is longer than {MAX_QUERY_BYTES // 1024} KiB",
        422: "This Idempotency-Key was used for a different request",
        429: "Too many requests or failed authentications; see Retry-After",
        503: "A dependency (database, PBX) is unavailable; nothing was done",
        504: "The PBX took the request and did not answer in time (see the timeout contract)",
    }
    return {
        status: {
            "model": Problem,
            "description": described[status],
            "content": {"application/problem+json": {}},
        }
        for status in statuses
    }


def no_content() -> Response:
    return Response(status_code=204)
