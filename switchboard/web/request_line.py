"""The HTTP protocol uvicorn serves with: httptools, taking a request line whose target has raw spaces."""

from __future__ import annotations

import re

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# Noojee's Java client puts values in the URL unencoded ("teamName=Sales East"): the request line
# then has more than two spaces, which every HTTP parser rejects. The target is what lies between
# the method and the last " HTTP/1.x"; its spaces are percent-encoded before parsing.
_REQUEST_LINE = re.compile(rb"^([A-Z]{3,10}) (.+) (HTTP/1\.[01])$")
_MAX_LINE = 16 * 1024  # beyond this the parser answers as it would (the request limits' 414 first)


def mend_request_line(line: bytes) -> bytes:
    """'GET /x?a=b c HTTP/1.1' -> 'GET /x?a=b%20c HTTP/1.1'; any other line unchanged."""
    match = _REQUEST_LINE.match(line)
    if match is None or b" " not in match.group(2):
        return line
    return b"%s %s %s" % (match.group(1), match.group(2).replace(b" ", b"%20"), match.group(3))


class LenientHttpToolsProtocol(HttpToolsProtocol):
    """Mends each request's first line (between requests, the next bytes start one). Pipelined
    requests after the first of a read are parsed as they come."""

    _between_requests = True
    _head = b""

    def data_received(self, data: bytes) -> None:
        if not self._between_requests:
            super().data_received(data)
            return
        head = self._head + data
        line, newline, rest = head.partition(b"\r\n")
        if not newline and len(head) < _MAX_LINE:
            self._head = head  # the request line is not all here yet
            return
        self._head = b""
        super().data_received(mend_request_line(line) + newline + rest if newline else head)

    def on_message_begin(self) -> None:
        self._between_requests = False
        super().on_message_begin()

    def on_message_complete(self) -> None:
        self._between_requests = True
        super().on_message_complete()
