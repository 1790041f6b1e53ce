"""How the Noojee surface writes a date-time: one function, so every reply writes them alike."""

from __future__ import annotations

from datetime import datetime


def noojee_time(value: datetime | None) -> str:
    """The RecordingAPI's form (yyyy/MM/dd HH:mm:ss, as stored: UTC); "" when there is none."""
    return value.strftime("%Y/%m/%d %H:%M:%S") if value is not None else ""
