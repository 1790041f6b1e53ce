"""Logging set-up with secrets scrubbed from every record, whatever code emitted it."""

from __future__ import annotations

import logging
import re

from switchboard.access.keys import KEY_PATTERN

REDACTED = "[REDACTED]"
_QUERY_SECRET = re.compile(r"""(?i)\b(apiKey|api_key|password|secret|token)=([^&\s"']*)""")
_HEADER_SECRET = re.compile(r"(?i)\b(authorization|x-api-key)(['\"]?\s*[:=,]\s*['\"]?)([^'\"\r\n]+)")


def redact(text: str) -> str:
    text = _QUERY_SECRET.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
    text = _HEADER_SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    return KEY_PATTERN.sub(REDACTED, text)


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (and traceback text) with secrets replaced."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
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
