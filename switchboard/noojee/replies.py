"""Values in Noojee replies as its clients parse them: local date-times and its four call statuses."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from switchboard.kit.zones import zone_named

# Noojee's client parses date-times by length; 19 characters with a space is one of its forms.
NOOJEE_DATETIME = "%Y-%m-%d %H:%M:%S"

# Its monitor knows only four statuses (anything else is ignored); a call that ended without being
# hung up normally is Hungup, with the reason in `hangupCause`.
_STATUSES: dict[str, tuple[str, str]] = {
    "Dialing Out": ("Dialing Out", ""),
    "Ringing": ("Ringing", ""),
    "Connected": ("Connected", ""),
    "Hungup": ("Hungup", "normal"),
    "Busy": ("Hungup", "busy"),
    "No Answer": ("Hungup", "no answer"),
    "Congestion": ("Hungup", "congestion"),
    "Failed": ("Hungup", "failed"),
}
NOOJEE_STATUSES = frozenset(status for status, _ in _STATUSES.values())


def noojee_datetime(value: datetime | str | None, zone: str) -> str:
    """`yyyy-MM-dd HH:mm:ss` in the tenant's zone; '' for none. Naive values are UTC, as stored;
    strings are ISO 8601 (what the event log's payloads hold)."""
    if value is None or value == "":
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone_named(zone)).strftime(NOOJEE_DATETIME)


def noojee_status(state: str) -> tuple[str, str]:
    """(status, hangupCause) of an internal call state; a state this table lacks ended somehow."""
    return _STATUSES.get(state, ("Hungup", "failed"))


def call_event(facts: Mapping[str, Any], state: str, unique_id: str, zone: str) -> dict[str, Any]:
    """One subscribe Event, from an event's payload or a live call's facts (calls.service.call_facts):
    the reference's fields exactly, then Switchboard's extras."""
    status, cause = noojee_status(state)
    inbound = facts.get("direction") == "inbound"
    return {
        "Code": 0,
        "CallID": int(facts.get("callId") or 0),
        "CallData": {
            "canAnswer": inbound and state == "Ringing",
            "callerId": str(facts.get("callerId") or ""),
            "uniqueCallId": unique_id,
            "secondaryUniqueCallId": "",
            "callStartTime": noojee_datetime(facts.get("startedAt"), zone),
            "isQueueCall": False,
            "isClickToDialCall": bool(facts.get("apiOriginated")),
            "inbound": inbound,
            "status": status,
            "hangupCause": cause,
            "otherPartyCallerId": str(facts.get("otherParty") or ""),
            "campaignId": facts.get("campaignId"),
        },
    }
