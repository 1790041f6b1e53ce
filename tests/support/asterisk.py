"""The Asterisk driver's test plumbing: the in-test AMI server on a thread of its own, settings
pointing the app at it, and waiting for the app to log in."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

from pydantic import SecretStr
from starlette.testclient import TestClient

from switchboard.settings import Settings
from tests.support.access_world import build_world
from tests.support.ami_server import AmiServer
from tests.support.clients import make_client

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


@contextlib.contextmanager
def running_pbx() -> Iterator[ServerThread]:
    """The in-test Asterisk, started, on a thread of its own."""
    running = ServerThread(AmiServer(username="switchboard", secret=AMI_SECRET))
    running.call(running.server.start)
    try:
        yield running
    finally:
        running.close()


@contextlib.contextmanager
def asterisk_api(
    settings: Settings, global_key: str, pbx: ServerThread, secret: str = AMI_SECRET, world: bool = True
) -> Iterator[TestClient]:
    """The app on the Asterisk driver, pointed at the in-test PBX, holding the global key; the
    access world built (`world`: by this app, not by another worker that already did)."""
    with make_client(asterisk_settings(settings, pbx.server.port, secret)) as api:
        api.headers["Authorization"] = f"Bearer {global_key}"
        if world:
            build_world(api, global_key)
        yield api


def wait_until(check: Callable[[], bool], what: str, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def pbx_ready(api: TestClient) -> bool:
    return bool(api.get("/readyz").json()["checks"]["pbx"] == "ok")
