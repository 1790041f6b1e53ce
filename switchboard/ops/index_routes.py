"""GET /api/v1/: the API's index, public: where the console, the documentation, the health checks and
the Noojee and APIO entry points are. The same for everyone; nothing in it depends on who asks."""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Request
from starlette.responses import Response

from switchboard import __version__
from switchboard.kit.entry_points import INDEX, INDEX_LINKS
from switchboard.web.responses import json_response

index_router = APIRouter(include_in_schema=False)  # not an operation: the map of them

INDEX_BODY = {
    "name": "Switchboard",
    "version": __version__,
    "links": {
        link.name: {"href": link.path, "method": link.method, "title": link.title} for link in INDEX_LINKS
    },
}
# A browser gets the same links as a page (no script, no style, nothing from elsewhere).
INDEX_PAGE = (
    '<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8"><title>Switchboard API</title></head>\n'
    f"<body>\n<h1>Switchboard API</h1>\n<p>Version {escape(__version__)}. The same links as JSON: ask "
    "with <code>Accept: application/json</code>.</p>\n<ul>\n"
    + "".join(
        f'<li><a href="{escape(link.path)}">{escape(link.name)}</a>'
        f"{'' if link.method == 'GET' else f' ({escape(link.method)})'}: {escape(link.title)}</li>\n"
        for link in INDEX_LINKS
    )
    + "</ul>\n</body>\n</html>\n"
)
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Vary": "Accept",
}


@index_router.api_route(INDEX.path, methods=["GET", "HEAD"])
async def api_index(request: Request) -> Response:
    if _quality(request.headers.get("accept", ""), "text/html") > _quality(
        request.headers.get("accept", "*/*"), "application/json"
    ):
        return Response(INDEX_PAGE, media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)
    response = json_response(INDEX_BODY)
    response.headers["Vary"] = "Accept"
    return response


def _quality(accept: str, media_type: str) -> float:
    """How much the Accept header wants `media_type`: the q of the most specific range that matches
    it (RFC 9110 12.5.1); 0 if none does."""
    kind = media_type.split("/")[0]
    best, quality = -1, 0.0
    for entry in accept.split(","):
        media_range, *params = (part.strip() for part in entry.split(";"))
        specificity = {media_type: 2, f"{kind}/*": 1, "*/*": 0}.get(media_range.lower(), -1)
        if specificity > best:
            best, quality = specificity, _q(params)
    return quality


def _q(params: list[str]) -> float:
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return min(max(float(value), 0.0), 1.0)
            except ValueError:
                return 0.0
    return 1.0
