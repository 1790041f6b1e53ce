"""CSV cells made safe for spreadsheets: a cell that a spreadsheet would run as a formula is
written with a leading apostrophe (OWASP's advice), and the importer takes it off again.

Phone numbers and signed numbers ("+61 3 9000 0001", "-12.5") are not formulas and stay as they
are. A cell that already starts with an apostrophe before a formula gets one more, so reading
back always gives the value that was written."""

from __future__ import annotations

import re

_TRIGGERS = ("=", "@", "\t", "\r", "+", "-")
_NUMBER_LIKE = re.compile(r"[+-][0-9 ().,-]*\Z")


def _needs_guard(cell: str) -> bool:
    if cell.startswith("'"):
        return _needs_guard(cell[1:])
    return cell.startswith(_TRIGGERS) and not _NUMBER_LIKE.match(cell)


def guard(cell: str) -> str:
    """The cell as written to a CSV file."""
    return f"'{cell}" if _needs_guard(cell) else cell


def unguard(cell: str) -> str:
    """The value a guarded cell was written from."""
    return cell[1:] if cell.startswith("'") and _needs_guard(cell[1:]) else cell
