"""Logging set-up with secrets scrubbed from every record, whatever code emitted it."""

from __future__ import annotations

import logging
import re

from switchboard.access.keys import KEY_PATTERN

REDACTED = "[REDACTED]"
_QUERY_SECRET = re.compile(r"""(?i)\b(apiKey|api_key|password|secret|token)=([^&\s"']*)""")
_HEADER_SECRET = re.compile(r"(?i)\b(authorization|x-api-key)(['\"]?\s*[:=,]\s*['\"]?)([^'\"\r\n]+)")
# C0 and C1 controls, DEL and Unicode's line and paragraph separators: each can end, split or
# rewrite a line in some log viewer, so a value holding one could forge a record.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def redact(text: str) -> str:
    text = _QUERY_SECRET.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
    text = _HEADER_SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    return KEY_PATTERN.sub(REDACTED, text)


def escape_controls(text: str) -> str:
    """Control characters as Python escapes (\\n, \\x1b, \\u2028): one record stays one line."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (and traceback text) with secrets replaced and, in the message
    (where request values go), control characters escaped."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = escape_controls(redact(message))
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(process)d %(levelname)s %(name)s %(message)s"))
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
