"""A real HTTP receiver for webhook tests: records every request, answers as scripted, and verifies
signatures with the recipe in docs/api.md."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
from starlette.testclient import TestClient

from switchboard.settings import Settings

# A receiver that is never there: loopback port 9 (discard) is closed, so a delivery fails at once and
# nothing leaves the host. Subscribing to it needs 127.0.0.1 in webhookAllowedNetworks (tests' settings).
CLOSED_HOOK = "https://127.0.0.1:9"


@dataclass(frozen=True)
class Received:
    at: float
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return orjson.loads(self.body)


class Receiver:
    """POSTs to http://<host>:<port>/...; `answers` are the statuses to give, in order, then
    `default`; `delay` seconds before answering each (a slow receiver); `location`, if set, is sent
    with every answer (a redirect)."""

    def __init__(
        self,
        answers: list[int] | None = None,
        default: int = 200,
        delay: float = 0.0,
        host: str = "127.0.0.1",
    ) -> None:
        self.received: list[Received] = []
        self.answers = list(answers or [])
        self.default = default
        self.delay = delay
        self.location: str | None = None
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver._lock:
                    receiver.received.append(Received(time.monotonic(), dict(self.headers.items()), body))
                    status = receiver.answers.pop(0) if receiver.answers else receiver.default
                if receiver.delay:
                    time.sleep(receiver.delay)
                self.send_response(status)
                if receiver.location is not None:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:  # quiet
                pass

        self._server = ThreadingHTTPServer((host, 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/hook"

    def wait_for(self, condition: Callable[[list[Received]], bool], seconds: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with self._lock:
                seen = list(self.received)
            if condition(seen):
                return seen
            time.sleep(0.02)
        raise AssertionError(f"receiver: condition not met in {seconds} s; got {len(self.received)} requests")

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def wait_log(api: TestClient, webhook_id: int, count: int) -> Any:
    """The subscription's delivery log once it holds `count` attempts (within 5 s)."""
    deadline = time.monotonic() + 5
    while True:
        log = api.get(f"/api/v1/webhooks/{webhook_id}/deliveries/").json()
        if log["total"] >= count or time.monotonic() > deadline:
            assert log["total"] == count, log
            return log
        time.sleep(0.05)


API_DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def readme_verify() -> Any:
    """The verification recipe exactly as docs/api.md gives it to receivers."""
    text_ = API_DOCS.read_text()
    block = re.search(
        r"<!-- webhook-verification-recipe -->\s*```python\n(.*?)```"
        r"\s*<!-- end-webhook-verification-recipe -->",
        text_,
        re.S,
    )
    assert block is not None, "docs/api.md has no verification recipe"
    namespace: dict[str, Any] = {}
    exec(block.group(1), namespace)  # noqa: S102 -- our own docs' code, as a receiver would paste it
    return namespace["verify"]


def hook_settings(settings: Settings, **changes: Any) -> Settings:
    """Receivers on loopback over plain HTTP (allowed networks, development mode), quick retries."""
    values: dict[str, Any] = {
        "webhook_allowed_networks": ["127.0.0.0/8"],
        "insecure_http": True,
        "webhook_backoff_seconds": 0.05,
        "webhook_backoff_max_seconds": 0.2,
        "webhook_max_attempts": 4,
        "webhook_timeout_seconds": 3.0,
        **changes,
    }
    return settings.model_copy(update=values)
