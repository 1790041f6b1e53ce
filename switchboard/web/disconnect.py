"""A future resolved when an HTTP client goes away: long waits end instead of outliving it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from starlette.requests import Request


async def _watch(request: Request, gone: asyncio.Future[None]) -> None:
    # Once the body is read, the server's next message is http.disconnect, sent when the client
    # closes the connection: one blocked receive, nothing polled.
    while (await request.receive())["type"] != "http.disconnect":
        continue
    if not gone.done():
        gone.set_result(None)


@contextlib.asynccontextmanager
async def disconnection(request: Request) -> AsyncIterator[asyncio.Future[None]]:
    """Call after the request's parameters (and any body) have been read."""
    gone: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    watcher = asyncio.create_task(_watch(request, gone), name="disconnect-watch")
    try:
        yield gone
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
