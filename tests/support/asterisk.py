"""The Asterisk driver's test plumbing: the in-test AMI server on a thread of its own, settings
pointing the app at it, and waiting for the app to log in."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from pydantic import SecretStr
from starlette.testclient import TestClient

from switchboard.settings import Settings
from tests.support.ami_server import AmiServer

T = TypeVar("T")


AMI_SECRET = "s3cr3t"  # the in-test PBX's


class ServerThread:
    """The AMI server on an event loop of its own thread, as a PBX is a process of its own."""

    def __init__(self, server: AmiServer) -> None:
        self.server = server
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def call(self, make: Callable[[], Coroutine[Any, Any, T]]) -> T:
        return asyncio.run_coroutine_threadsafe(make(), self.loop).result(10)

    def close(self) -> None:
        self.call(self.server.stop)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


def asterisk_settings(settings: Settings, port: int, secret: str = AMI_SECRET) -> Settings:
    return settings.model_copy(
        update={
            "pbx": "asterisk",
            "ami_port": port,
            "ami_username": "switchboard",
            "ami_secret": SecretStr(secret),
        }
    )


def wait_until(check: Callable[[], bool], what: str, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def pbx_ready(api: TestClient) -> bool:
    return bool(api.get("/readyz").json()["checks"]["pbx"] == "ok")
