"""Noojee's response envelope: {"Code": 0, "Message": "OK", ...}; negative codes are errors.

An error's Code is minus its HTTP status (-400, -401, -403, -404, -405, -429, -503, -504, -500), so a
client can act on either; the Message says what went wrong and never names another's object.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from switchboard.errors import SwitchboardError


def ok(**fields: Any) -> Response:
    return Response(orjson.dumps({"Code": 0, "Message": "OK", **fields}), media_type="application/json")


def documented_errors(*described: tuple[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for (status, description) errors answered in the envelope."""
    return {
        status: {
            "description": text,
            "content": {"application/json": {"example": {"Code": -status, "Message": text}}},
        }
        for status, text in described
    }


def error_envelope(error: SwitchboardError, extra_headers: dict[str, str] | None = None) -> Response:
    body = {"Code": -error.status, "Message": error.detail}
    headers = {**error.headers(), **(extra_headers or {})}
    return Response(
        orjson.dumps(body), status_code=error.status, media_type="application/json", headers=headers
    )


# What every method may answer whatever its parameters, for its OpenAPI entry.
COMMON_ERRORS = ((401, "No valid apiKey"), (405, "POST only"), (429, "Too many requests"))
