"""A resolver under the test's control: chosen names answer chosen addresses (event loops' getaddrinfo)."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest


class FakeResolver:
    """Answers for chosen names (one list per lookup, the last repeated); other names resolve as usual."""

    def __init__(self) -> None:
        self.answers: dict[str, list[list[str]]] = {}
        self.lookups: list[str] = []

    def set(self, name: str, *answers: list[str]) -> None:
        self.answers[name] = list(answers)

    def infos(self, host: str, port: int) -> list[tuple[Any, ...]]:
        queue = self.answers[host]
        addresses = queue.pop(0) if len(queue) > 1 else queue[0]
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (a, port, 0, 0))
            if ":" in a
            else (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (a, port))
            for a in addresses
        ]


def fake_resolver(monkeypatch: pytest.MonkeyPatch) -> FakeResolver:
    """Every event loop's getaddrinfo (the app's, in its test client's thread, too) asks the fake first."""
    fake = FakeResolver()
    original = asyncio.base_events.BaseEventLoop.getaddrinfo

    async def getaddrinfo(loop: asyncio.AbstractEventLoop, host: Any, port: Any, **kwargs: Any) -> Any:
        fake.lookups.append(host)
        if host in fake.answers:
            return fake.infos(host, port)
        return await original(loop, host, port, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(asyncio.base_events.BaseEventLoop, "getaddrinfo", getaddrinfo)
    return fake
