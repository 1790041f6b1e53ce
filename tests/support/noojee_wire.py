"""A strict parser of Noojee replies, written to the reference's "What it parses" rules (the Java
client 1.4.3): a reply it could not read makes WireError, as the client's whole reply fails."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

STATUSES = frozenset({"Dialing Out", "Connected", "Ringing", "Hungup"})
# By length, as the client picks its pattern; "/" may stand for "-" in the date.
_DATE_FORMATS = {16: ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M"), 19: ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S")}
_ISO_LOCAL = "%Y-%m-%dT%H:%M:%S"


class WireError(AssertionError):
    """The Java client could not parse this reply."""


@dataclass(frozen=True)
class Simple:
    code: int
    message: str


@dataclass(frozen=True)
class CallData:
    can_answer: bool
    caller_id: str
    unique_call_id: str
    secondary_unique_call_id: str
    call_start_time: datetime | None
    is_queue_call: bool
    is_click_to_dial_call: bool
    inbound: bool
    status: str


@dataclass(frozen=True)
class Event:
    code: int
    call_id: int
    call_data: CallData


@dataclass(frozen=True)
class Subscription:
    code: int
    seq: int
    data: dict[str, list[Event]]


@dataclass(frozen=True)
class Rostered:
    id: int
    login: str
    extension: str
    phone_number: str
    mobile_number: str
    email: str
    stack_position: int


@dataclass(frozen=True)
class Entity:
    id: int
    name: str


STATISTICS_NUMBERS = (
    "ioWait",
    "loadAverage",
    "cpuPercent",
    "cores",
    "memoryAvailableMB",
    "memoryTotalMB",
    "freeDiskSpacePercent",
    "threadPoolUsagePercent",
    "schedulerPoolUsagePercent",
    "steal",
    "dbPoolSize",
    "dbPoolUsage",
)
STATISTICS_DATES = ("lastBackupAttempt", "lastBackupSuccess")


def _json(body: bytes) -> dict[str, Any]:
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise WireError(f"not JSON: {body[:200]!r}") from exc
    if not isinstance(value, dict):
        raise WireError(f"not a JSON object: {value!r}")
    return value


def _field(obj: Any, name: str, kind: type | tuple[type, ...]) -> Any:
    if not isinstance(obj, dict):
        raise WireError(f"not a JSON object where {name!r} was expected: {obj!r}")
    if name not in obj:
        raise WireError(f"missing {name!r} in {obj!r}")
    value = obj[name]
    # JSON true/false are not numbers to the client, and null is not a string.
    if isinstance(value, bool) and kind is not bool:
        raise WireError(f"{name!r} is a boolean, not {kind}: {obj!r}")
    if not isinstance(value, kind):
        raise WireError(f"{name!r} is {value!r}, not {kind}")
    return value


def parse_datetime(value: str) -> datetime | None:
    """ "" is none; otherwise one of the patterns chosen by length: no fraction, no offset."""
    if value == "":
        return None
    formats: tuple[str, ...] = _DATE_FORMATS.get(len(value), ())
    if len(value) == 19 and value[10:11] == "T":
        formats = (_ISO_LOCAL,)
    for pattern in formats:
        try:
            return datetime.strptime(value, pattern)
        except ValueError:
            continue
    raise WireError(f"date-time {value!r} matches none of the client's patterns")


def parse_simple(body: bytes) -> Simple:
    obj = _json(body)
    return Simple(_field(obj, "Code", int), _field(obj, "Message", str))


def parse_dial(body: bytes) -> str:
    parse_simple(body)
    session_id: str = _field(_json(body), "SessionID", str)
    return session_id


def parse_call_data(obj: dict[str, Any]) -> CallData:
    status = _field(obj, "status", str)
    if status not in STATUSES:
        raise WireError(f"status {status!r} is none of {sorted(STATUSES)}")
    return CallData(
        can_answer=_field(obj, "canAnswer", bool),
        caller_id=_field(obj, "callerId", str),
        unique_call_id=_field(obj, "uniqueCallId", str),
        secondary_unique_call_id=_field(obj, "secondaryUniqueCallId", str),
        call_start_time=parse_datetime(_field(obj, "callStartTime", str)),
        is_queue_call=_field(obj, "isQueueCall", bool),
        is_click_to_dial_call=_field(obj, "isClickToDialCall", bool),
        inbound=_field(obj, "inbound", bool),
        status=status,
    )


def parse_subscribe(body: bytes) -> Subscription:
    obj = _json(body)
    data: dict[str, list[Event]] = {}
    for exten, events in _field(obj, "Data", dict).items():
        if not isinstance(events, list):
            raise WireError(f"Data[{exten!r}] is not a list")
        data[exten] = [
            Event(
                _field(event, "Code", int),
                _field(event, "CallID", int),
                parse_call_data(_field(event, "CallData", dict)),
            )
            for event in events
        ]
    return Subscription(_field(obj, "Code", int), _field(obj, "seq", int), data)


def parse_statistics(body: bytes) -> dict[str, Any]:
    """entities[0] of systemHealth/test (lower-case code and message)."""
    obj = _json(body)
    _field(obj, "code", int)
    _field(obj, "message", str)
    entities = _field(obj, "entities", list)
    if not entities or not isinstance(entities[0], dict):
        raise WireError(f"no statistics in {obj!r}")
    stats: dict[str, Any] = entities[0]
    for name in STATISTICS_NUMBERS:
        _field(stats, name, (int, float))
    for name in STATISTICS_DATES:
        parse_datetime(_field(stats, name, str))
    _field(stats, "backupStarting", bool)
    ping_data = _field(stats, "pingData", dict)
    for address in ping_data:
        _field(ping_data, address, (int, float))  # milliseconds of lag to that trunk address
    return stats


def parse_rosters(body: bytes) -> list[Rostered]:
    obj = _json(body)
    code = _field(obj, "code", int)
    _field(obj, "message", str)
    _field(obj, "type", str)
    if code != 0:
        raise WireError(f"getActiveRosters code {code} is thrown by the client")
    return [
        Rostered(
            _field(e, "id", int),
            _field(e, "login", str),
            _field(e, "extension", str),
            _field(e, "phoneNumber", str),
            _field(e, "mobileNumber", str),
            _field(e, "email", str),
            _field(e, "statckPostion", int),  # sic
        )
        for e in _field(obj, "entities", list)
    ]


def parse_entities(body: bytes) -> list[Entity]:
    """What the wget scripts read of a CampaignAPI list: each entity's integer id and string name."""
    return [
        Entity(_field(e, "id", int), _field(e, "name", str)) for e in _field(_json(body), "entities", list)
    ]
