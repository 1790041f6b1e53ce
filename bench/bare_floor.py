"""The bench's honest floor: a bare FastAPI app — one async route, the same small response model as
Switchboard's /bench/floor, no middleware — served in its own process with the same uvicorn
settings (one worker, TLS with the same certificate, httptools, no access log)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi import FastAPI

from bench.process import serving_process
from switchboard.ops.routes import Floor

app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


@app.get("/bench/floor", response_model=Floor)
async def floor() -> Floor:
    return Floor(status="ok", version=1)


@contextmanager
def serving_bare_floor(
    port: int, data_dir: Path, log_path: Path
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """This module's app under uvicorn on `port`; its process and base URL."""
    from switchboard.tls import ensure_self_signed

    cert, key = ensure_self_signed(data_dir)
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.bare_floor:app",
        "--host=127.0.0.1",
        f"--port={port}",
        f"--ssl-certfile={cert}",
        f"--ssl-keyfile={key}",
        "--http=httptools",
        "--no-access-log",
        "--no-server-header",
        "--log-level=warning",
    ]
    with serving_process(command, dict(os.environ), port, log_path) as server:
        yield server, f"https://127.0.0.1:{port}"
