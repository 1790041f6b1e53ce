"""Dialling-policy patterns, run by RE2: linear-time matching, so no pattern can stall the process."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Protocol, cast

import re2


class _Compiled(Protocol):
    def fullmatch(self, text: str) -> object | None: ...


# log_errors off: a refused pattern is the caller's 400, not a line on the server's stderr.
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False


@lru_cache(maxsize=1024)
def _compile(pattern: str) -> _Compiled | str:
    """The compiled pattern, or why RE2 refuses it (both cached: a policy is read on every dial)."""
    try:
        return cast(_Compiled, re2.compile(pattern, _OPTIONS))
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        text = reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)
        return f"{pattern!r} is not a pattern in RE2 syntax (no backreferences or lookaround): {text}"


def pattern_error(pattern: str) -> str | None:
    """Why `pattern` cannot be a dialling pattern, or None."""
    compiled = _compile(pattern)
    return compiled if isinstance(compiled, str) else None


def matches_any(patterns: Iterable[str], number: str) -> bool:
    """Whether any pattern matches the whole number. A stored pattern RE2 refuses (saved before
    patterns were checked with it) matches nothing: the policy fails closed."""
    for pattern in patterns:
        compiled = _compile(pattern)
        if not isinstance(compiled, str) and compiled.fullmatch(number) is not None:
            return True
    return False
