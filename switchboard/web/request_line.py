"""Request lines as Noojee's Java client writes them: a query value with raw spaces
(`GET /...?teamName=Sales Team HTTP/1.1`), which the HTTP parser would refuse with 400.

Before the parser reads a request's first line, spaces inside its target are percent-encoded;
a line that is already well formed, and everything after the first line, pass unchanged.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

MAX_LINE = 16 * 1024  # longer first lines go to the parser as they are (it refuses them)
_LINE = re.compile(rb"^(?P<method>[A-Z]{3,10}) (?P<target>/[^\r\n]*?) (?P<version>HTTP/1\.[01])$")


def repaired(line: bytes) -> bytes:
    """One request line without its CRLF: raw spaces in the target become %20."""
    match = _LINE.match(line)
    if match is None or b" " not in match["target"]:
        return line
    return b"%s %s %s" % (match["method"], match["target"].replace(b" ", b"%20"), match["version"])


class LenientRequestLine(HttpToolsProtocol):
    """uvicorn's httptools protocol, with each request's first line repaired before parsing."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._first_line = b""
        self._at_request_start = True

    def data_received(self, data: bytes) -> None:
        if self._at_request_start:
            pending = self._first_line + data
            end = pending.find(b"\r\n")
            if end < 0 and len(pending) < MAX_LINE:
                self._first_line = pending  # the rest of the line is still to come
                return
            self._first_line = b""
            self._at_request_start = False
            data = pending if end < 0 else repaired(pending[:end]) + pending[end:]
        super().data_received(data)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._at_request_start = True  # a keep-alive connection's next request starts here
