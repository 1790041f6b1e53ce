"""Per-request overhead in process: Switchboard's /bench/floor against the bare FastAPI floor, by raw ASGI.

No server, no socket, no TLS: each app is called with an ASGI scope, receive and send directly, so
what is measured is the app's own cost per request (middleware, routing, the route, the response).
Time is the process's CPU time, as the issue's "server CPU µs/request": on a shared machine, time
spent descheduled is not counted. Logging is set up as a served worker's (server.py: INFO, the
redacting handler) and writes to a file, so Switchboard's access log is paid for as in production.
Rounds alternate bare / Switchboard; the median of each and their ratio are printed. `--profile APP`
runs one app's requests under cProfile instead.

    python -m bench.asgi_overhead [--requests 20000] [--rounds 5] [--profile switchboard|bare]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import logging
import pstats
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.types import ASGIApp, Message, Scope

from bench.bare_floor import app as bare_app
from switchboard.app import create_app
from switchboard.db.migrate import upgrade
from switchboard.logs import configure_logging
from switchboard.settings import Settings

PATH = "/bench/floor"
EXPECTED_BODY = b'{"status":"ok","version":1}'


def floor_scope() -> Scope:
    """A GET of the floor as uvicorn hands it over: HTTPS, from loopback (the allowlist's default)."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8443),
        "client": ("127.0.0.1", 50000),
        "scheme": "https",
        "method": "GET",
        "root_path": "",
        "path": PATH,
        "raw_path": PATH.encode(),
        "query_string": b"",
        "headers": [
            (b"host", b"127.0.0.1:8443"),
            (b"user-agent", b"wrk"),
            (b"accept", b"*/*"),
        ],
        "state": {},
    }


async def _receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


def driver(app: ASGIApp) -> Callable[[int], Awaitable[float]]:
    """A function running `n` requests on `app`, answering CPU µs per request; each answer is checked."""

    async def run(n: int) -> float:
        status = 0
        body = b""

        async def send(message: Message) -> None:
            nonlocal status, body
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                body = message.get("body", b"")

        started = time.process_time()
        for _ in range(n):
            await app(floor_scope(), _receive, send)
        elapsed = time.process_time() - started
        if status != 200 or body != EXPECTED_BODY:
            raise SystemExit(f"unexpected answer {status} {body!r}")
        return elapsed / n * 1e6

    return run


def switchboard_settings(where: Path) -> Settings:
    url = f"sqlite:///{where / 'overhead.db'}"
    upgrade(url)
    return Settings(data_dir=where / "data", database_url=url, bench_floor_route=True)


async def main(requests: int, rounds: int, profile: str | None) -> None:
    with tempfile.TemporaryDirectory() as where:
        settings = switchboard_settings(Path(where))
        configure_logging(settings.log_level)
        (handler,) = logging.getLogger().handlers
        assert isinstance(handler, logging.StreamHandler)
        handler.setStream((Path(where) / "server.log").open("a"))
        app = create_app(settings)
        async with app.router.lifespan_context(app), bare_app.router.lifespan_context(bare_app):
            bare, ours = driver(bare_app), driver(app)
            await bare(2000)  # warm-up: imports, caches, the settings cache's first read
            await ours(2000)
            if profile is not None:
                profiler = cProfile.Profile()
                profiler.enable()
                await (bare if profile == "bare" else ours)(requests)
                profiler.disable()
                stats = pstats.Stats(profiler).sort_stats("tottime")
                stats.print_stats(50)
                stats.print_callers(50)
                return
            bare_us: list[float] = []
            ours_us: list[float] = []
            for round_number in range(1, rounds + 1):
                bare_us.append(await bare(requests))
                ours_us.append(await ours(requests))
                print(
                    f"round {round_number}: bare {bare_us[-1]:.1f} µs, switchboard {ours_us[-1]:.1f} µs, "
                    f"ratio {ours_us[-1] / bare_us[-1]:.2f}"
                )
            b, s = statistics.median(bare_us), statistics.median(ours_us)
            print(f"median of {rounds} x {requests}: bare {b:.1f} µs/request, switchboard {s:.1f} µs/request")
            print(f"switchboard / bare: {s / b:.2f}x (throughput ratio {b / s:.2f})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", choices=("switchboard", "bare"), help="cProfile one app's requests")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.requests, arguments.rounds, arguments.profile))
