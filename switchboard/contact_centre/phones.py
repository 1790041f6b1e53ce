"""Phone numbers as dialled and compared: one normal form for leads and the do-not-call list."""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s\-.()/]")
_NORMAL = re.compile(r"^\+?[0-9]{3,15}$")  # E.164 allows at most 15 digits


def normalise_phone(raw: str) -> str:
    """'+61 (3) 9000-1234' -> '+61390001234'; '0061…' -> '+61…'; ValueError if not a number.

    Numbers without an international prefix stay national (digits only): a tenant's leads and
    its do-not-call list are compared in the same form, so they still match each other.
    """
    number = _SEPARATORS.sub("", raw)
    if number.startswith("00"):
        number = "+" + number[2:]
    if not _NORMAL.match(number):
        raise ValueError(f"{raw!r} is not a phone number (3 to 15 digits, optional leading +)")
    return number
