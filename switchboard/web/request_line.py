"""The HTTP protocol uvicorn serves with: httptools, taking a request line whose target has raw
spaces, and refusing a request head (request line and headers) past a size limit."""

from __future__ import annotations

import re
from http import HTTPStatus

import orjson
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from switchboard.web.perimeter import HSTS

# Noojee's Java client puts values in the URL unencoded ("teamName=Sales East"): the request line
# then has more than two spaces, which every HTTP parser rejects. The target is what lies between
# the method and the last " HTTP/1.x"; its spaces are percent-encoded before parsing.
_REQUEST_LINE = re.compile(rb"^([A-Z]{3,10}) (.+) (HTTP/1\.[01])$")
_MAX_LINE = 16 * 1024  # beyond this the parser answers as it would (the request limits' 414 first)
# The request line and headers together (httptools buffers a header whole, with no limit of its own:
# a 16 MiB header was read into memory). Our longest legitimate head, a query string at the request
# limits' 8 KiB and a few credentials, is far below; nginx's default is 4 x 8 KiB.
MAX_HEAD_BYTES = 64 * 1024


# APIO's UIs (and curl) send non-ASCII text raw too ("Bär" as UTF-8 bytes): encoded the same way.
_UNSAFE = re.compile(rb"[ \x80-\xff]")


def mend_request_line(line: bytes) -> bytes:
    """'GET /x?a=b c HTTP/1.1' -> 'GET /x?a=b%20c HTTP/1.1' (and raw bytes past ASCII %-encoded);
    any other line unchanged."""
    match = _REQUEST_LINE.match(line)
    if match is None or not _UNSAFE.search(match.group(2)):
        return line
    target = _UNSAFE.sub(lambda byte: b"%%%02X" % byte.group()[0], match.group(2))
    return b"%s %s %s" % (match.group(1), target, match.group(3))


def head_refusal(status: int, detail: str, https: bool) -> bytes:
    """A whole problem+json response that closes the connection (sent before any app runs)."""
    body = orjson.dumps(
        {
            "type": "about:blank",
            "title": HTTPStatus(status).phrase,
            "status": status,
            "detail": detail,
        }
    )
    headers = [
        b"content-type: application/problem+json",
        b"content-length: %d" % len(body),
        b"connection: close",
        *([HSTS[0] + b": " + HSTS[1]] if https else []),
    ]
    return STATUS_LINE[status] + b"\r\n".join(headers) + b"\r\n\r\n" + body


class LenientHttpToolsProtocol(HttpToolsProtocol):
    """Mends each request's first line (between requests, the next bytes start one), and counts
    each request's head: past MAX_HEAD_BYTES it answers 414 (the request line alone) or 431 and
    closes the connection. Pipelined requests after the first of a read are parsed as they come."""

    _between_requests = True
    _head = b""
    _in_head = True  # the current request's headers are not complete yet
    _head_bytes = 0  # bytes of the current request's head given to the parser
    _line_ended = False  # its request line is complete
    _completed = 0  # requests parsed whole on this connection

    def data_received(self, data: bytes) -> None:
        if not self._between_requests:
            self._feed(data)
            return
        head = self._head + data
        line, newline, rest = head.partition(b"\r\n")
        if not newline and len(head) < _MAX_LINE:
            self._head = head  # the request line is not all here yet
            return
        self._head = b""
        self._feed(mend_request_line(line) + newline + rest if newline else head)

    def _feed(self, data: bytes) -> None:
        """The parser gets no more of a head than MAX_HEAD_BYTES; what follows a complete head
        (a body, the next request) is given as it comes."""
        if not self._in_head:
            super().data_received(data)
            return
        room = MAX_HEAD_BYTES - self._head_bytes
        part = data[:room]
        self._head_bytes += len(part)
        self._line_ended = self._line_ended or b"\n" in part
        completed = self._completed
        if part:
            super().data_received(part)
        if len(data) <= room or self.transport.is_closing():
            return
        if not self._in_head or self._completed != completed:
            self._feed(data[room:])  # the head ended within it: the rest is a body or the next request
            return
        self._refuse_head()

    def _refuse_head(self) -> None:
        if self._line_ended:
            status, detail = 431, f"The request's header fields are larger than {MAX_HEAD_BYTES} bytes."
        else:
            status, detail = 414, f"The request line is longer than {MAX_HEAD_BYTES} bytes."
        self.logger.warning("Request head over %d bytes refused with %d", MAX_HEAD_BYTES, status)
        self.transport.write(head_refusal(status, detail, self.scheme == "https"))
        self.transport.close()

    def on_message_begin(self) -> None:
        self._between_requests = False
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._between_requests = True
        self._in_head, self._head_bytes, self._line_ended = True, 0, False
        self._completed += 1
        super().on_message_complete()
