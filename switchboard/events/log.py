"""Appending to the event log, inside the transaction of the change an event describes.

One statement serves both paths: a step of the raw hot-path writer (switchboard.db.fastwrite)
and `session.execute` in a unit of work. Events are written unnumbered; after the commit this
process's sequencer is told (channel EVENTS_PENDING) and gives them their public numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Executable, bindparam, insert
from sqlalchemy.orm import Session

from switchboard.db.base import utcnow
from switchboard.events.models import Event
from switchboard.signals.feed import announce_after_commit

# This process wrote events (local only): its sequencer numbers them.
EVENTS_PENDING = "events.pending"
# The change counter holding the sequence's high-water mark; every process hears it move.
EVENTS_CHANNEL = "events"

Step = tuple[str, Callable[[], Executable], Mapping[str, Any]]

# The event types, for webhook subscriptions (a type or a "family.*" pattern).
EVENT_TYPES = (
    "call.originated",
    "call.ringing",
    "call.connected",
    "call.hungup",
    "call.busy",
    "call.no_answer",
    "call.congestion",
    "call.failed",
    "recording.started",
    "recording.stopped",
    "recording.failed",
    "recording.paused",
    "recording.resumed",
    "lead.created",
    "lead.updated",
    "lead.deleted",
    "account.created",
    "account.updated",
    "account.deleted",
    "api_key.created",
    "api_key.updated",
    "api_key.revoked",
    "tenant_key.created",
    "tenant_key.updated",
    "tenant_key.revoked",
    "webhook.test",
)


def _insert() -> Executable:
    return insert(Event).values(
        kind=bindparam("e_kind"),
        tenant_pk=bindparam("e_tenant_pk"),
        extension=bindparam("e_extension"),
        unique_id=bindparam("e_unique_id"),
        campaign_id=bindparam("e_campaign_id"),
        data=bindparam("e_data", type_=Event.data.type),
        created_at=bindparam("e_at", type_=Event.created_at.type),
    )


def event_params(
    kind: str,
    tenant_pk: int | None,
    data: Mapping[str, Any],
    *,
    extension: str | None = None,
    unique_id: str | None = None,
    campaign_id: int | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    return {
        "e_kind": kind,
        "e_tenant_pk": tenant_pk,
        "e_extension": extension,
        "e_unique_id": unique_id,
        "e_campaign_id": campaign_id,
        "e_data": dict(data),
        "e_at": at or utcnow(),
    }


def event_step(params: dict[str, Any]) -> Step:
    """The event as a step of a raw write (the caller announces EVENTS_PENDING after it)."""
    return ("event", _insert, params)


def is_event_step(step: Step) -> bool:
    return step[0] == "event"


def record_events(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Append events (event_params) in the session's transaction; one statement for all."""
    if not rows:
        return
    session.execute(_insert(), list(rows))
    announce_after_commit(session, EVENTS_PENDING)


def record_event(
    session: Session, kind: str, tenant_pk: int | None, data: Mapping[str, Any], **kw: Any
) -> None:
    record_events(session, [event_params(kind, tenant_pk, data, **kw)])
