"""Logging set-up with secrets scrubbed from every record, whatever code emitted it."""

from __future__ import annotations

import logging
import re
import time
from urllib.parse import unquote_plus

from switchboard.access.keys import KEY_PATTERN

REDACTED = "[REDACTED]"
# A name=value pair in a query, a form or any text: the name is judged percent-decoded, its case
# and separators folded (api%4Bey, APIKEY and api-key are apiKey), as the server decodes it.
_NAME_CHARS = r"""[^\s&?;=,"'<>()\[\]{}]"""
# Each run is tried from its start only, without backtracking: linear in the text, however long.
_PAIR = re.compile(rf"""(?<!{_NAME_CHARS})({_NAME_CHARS}++)=([^&\s"']*+)""")
_SECRET_NAMES = ("apikey", "password", "passwd", "secret", "token", "authorization", "sessionid")
# A run that holds a percent-escape: a key hidden as sbu%5F... is a key once decoded.
_RUN = re.compile(r"""(?<![^\s"'&=?/])[^\s"'&=?/]++""")
_HEADER_SECRET = re.compile(r"(?i)\b(authorization|x-api-key)(['\"]?\s*[:=,]\s*['\"]?)([^'\"\r\n]+)")
# C0 and C1 controls, DEL and Unicode's line and paragraph separators: each can end, split or
# rewrite a line in some log viewer, so a value holding one could forge a record.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _decoded(text: str) -> str:
    """Percent-decoded until nothing changes (a few rounds: double encoding decodes too)."""
    for _ in range(3):
        decoded = unquote_plus(text)
        if decoded == text:
            break
        text = decoded
    return text


def _is_secret_name(name: str) -> bool:
    folded = re.sub(r"[^a-z]", "", _decoded(name).lower())
    return any(secret in folded for secret in _SECRET_NAMES)


def _redact_pair(match: re.Match[str]) -> str:
    return f"{match.group(1)}={REDACTED}" if _is_secret_name(match.group(1)) else match.group()


def _redact_encoded(match: re.Match[str]) -> str:
    run = match.group()
    return REDACTED if "%" in run and KEY_PATTERN.search(_decoded(run)) else run


def redact(text: str) -> str:
    """Secrets out of a text that may hold a request target, raw or decoded: values of secret
    parameters (by decoded name), credential headers, and keys, percent-encoded or not."""
    # Each pattern is tried only on a text holding a character it cannot match without (every log
    # record passes here, and most hold none): the same result, at a fraction of the cost.
    if "=" in text:
        text = _PAIR.sub(_redact_pair, text)
    if ":" in text or "=" in text or "," in text:  # a credential header's separator
        text = _HEADER_SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    if "%" in text:
        text = _RUN.sub(_redact_encoded, text)
    return KEY_PATTERN.sub(REDACTED, text) if "_" in text else text


def escape_controls(text: str) -> str:
    """Control characters as Python escapes (\\n, \\x1b, \\u2028): one record stays one line."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (and traceback text) with secrets replaced and, in the message
    (where request values go), control characters escaped."""

    def filter(self, record: logging.LogRecord) -> bool:
        # The message, cleaned, replaces msg and args: formatting it again would cost as much.
        record.msg, record.args = escape_controls(redact(record.getMessage())), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class _Formatter(logging.Formatter):
    """The standard formatter, whose time text (but its milliseconds) is built once per second."""

    _second: tuple[int, str] = (-1, "")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        if datefmt or not self.default_msec_format:
            return super().formatTime(record, datefmt)
        second, text = self._second
        if int(record.created) != second:
            text = time.strftime(self.default_time_format, self.converter(record.created))
            self._second = (int(record.created), text)
        return self.default_msec_format % (text, record.msecs)


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(_Formatter("%(asctime)s %(process)d %(levelname)s %(name)s %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # Our access log (switchboard.access) is the one that is redacted and route-aware.
    uvicorn_access = logging.getLogger("uvicorn.access")
    uvicorn_access.handlers[:] = []
    uvicorn_access.propagate = False
    uvicorn_access.disabled = True
