"""Background work's heartbeat: a run that says "running" but whose process has gone quiet was interrupted."""

from __future__ import annotations

from datetime import datetime, timedelta

from switchboard.db.base import utcnow

STALE = timedelta(seconds=60)  # a running job not heard from for this long: its process died
SAVE_EVERY = 0.5  # seconds between a running job's progress writes (each one is a heartbeat)


def seen_status(status: str, heard_at: datetime, here: bool) -> str:
    """The status to show: a "running" row whose thread is not in this process (`here`) and that has
    not written its progress for STALE reads as "interrupted" (its process stopped mid-way; the row
    is left as it is, and a later write by a merely slow process would still be taken)."""
    if status == "running" and not here and utcnow() - heard_at > STALE:
        return "interrupted"
    return status
