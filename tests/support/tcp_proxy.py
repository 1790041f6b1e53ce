"""A TCP proxy a test controls: forward to a real server; cut all connections, refuse new ones; restore."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
CHUNK = 1 << 16


class TcpProxy:
    """Listens on 127.0.0.1 (a port from the OS, kept across cuts) and forwards to `upstream`.

    `cut()` resets every open connection (both sides see the reset, as on a network failure) and
    closes the listening socket, so new connections are refused; `restore()` listens again on the
    same port. Runs on an event loop of its own thread, so the code under test can block freely.
    """

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = 0
        self.accepted = 0  # connections accepted since start (the client reconnecting shows here)
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tcp-proxy", daemon=True)

    def __enter__(self) -> TcpProxy:
        self._thread.start()
        self._call(self._listen())
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def forwarding(self) -> bool:
        return self._server is not None

    @property
    def open_connections(self) -> int:
        return len(self._links) // 2

    def cut(self) -> None:
        self._call(self._cut())

    def restore(self) -> None:
        self._call(self._listen())

    def close(self) -> None:
        if not self._thread.is_alive():
            return
        self._call(self._cut())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def _call(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(10)

    async def _listen(self) -> None:
        if self._server is not None:
            return
        # SO_REUSEADDR: the port is taken again at once although cut connections sit in TIME_WAIT.
        self._server = await asyncio.start_server(self._link, "127.0.0.1", self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()  # refuse new connections (ECONNREFUSED)
            self._server = None
        links, self._links = self._links, set()
        for writer in links:
            _reset(writer)

    async def _link(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if self._server is None:  # accepted just as the cut began
            _reset(client_writer)
            return
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            _reset(client_writer)
            return
        if self._server is None:
            _reset(client_writer)
            _reset(server_writer)
            return
        self._links |= {client_writer, server_writer}
        try:
            await asyncio.gather(
                self._pump(client_reader, server_writer, client_writer),
                self._pump(server_reader, client_writer, server_writer),
            )
        finally:
            self._links.discard(client_writer)
            self._links.discard(server_writer)

    @staticmethod
    async def _pump(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, other: asyncio.StreamWriter
    ) -> None:
        try:
            while data := await reader.read(CHUNK):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        # One side ended or failed: end the whole link (the protocols proxied here are not
        # half-duplex), so the other side learns at once.
        for end in (writer, other):
            with contextlib.suppress(Exception):
                end.close()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST rather than FIN: the peer's next read or write fails at once."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
