"""A strict parser of Noojee replies, written to the reference's "What it parses" rules (the Java
client 1.4.3, ../shared/reference/noojee-client-wire.md): a reply it could not read makes WireError
(an AssertionError), as the client's whole reply fails."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

STATUSES = frozenset({"Dialing Out", "Connected", "Ringing", "Hungup"})
# By length, as the client picks its pattern; "/" may stand for "-" in the date. No fraction, no offset.
_DATE_FORMATS = {16: ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M"), 19: ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S")}
_ISO_LOCAL = "%Y-%m-%dT%H:%M:%S"
# A value that starts like a date is read as one by its client; so is a field named like one.
_LOOKS_LIKE_DATE = re.compile(r"^\d{4}[-/]\d{2}[-/]\d{2}")
_DATE_NAMES = re.compile(r"(Time|Date|At)$|^(Start|Stop|End|Date|Time)$")

Body = bytes | str | dict[str, Any]


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


def _json(body: Body) -> dict[str, Any]:
    if isinstance(body, dict):
        return body
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise WireError(f"not JSON: {body[:200]!r}") from exc
    if not isinstance(value, dict):
        raise WireError(f"not a JSON object: {value!r}")
    return value


def _field(obj: Any, name: str, kind: type | tuple[type, ...], where: str = "reply") -> Any:
    if not isinstance(obj, dict):
        raise WireError(f"{where}: not a JSON object where {name!r} was expected: {obj!r}")
    if name not in obj:
        raise WireError(f"{where}: missing {name!r} in {obj!r}")
    value = obj[name]
    # JSON true/false are not numbers to the client (bool is an int in Python), and null is not a string.
    if isinstance(value, bool) and kind is not bool:
        raise WireError(f"{where}.{name}: {value!r} is a boolean, not {kind}")
    if not isinstance(value, kind):
        raise WireError(f"{where}.{name}: {value!r} is not {kind}")
    return value


def parse_datetime(value: object, where: str = "date-time") -> datetime | None:
    """ "" is none; otherwise the naive local date-time of one of the patterns chosen by length."""
    if not isinstance(value, str):
        raise WireError(f"{where}: {value!r} is not a string")
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
    raise WireError(
        f"{where}: {value!r} is none of '', yyyy-MM-dd HH:mm, yyyy-MM-dd HH:mm:ss (or with /), "
        "yyyy-MM-dd'T'HH:mm:ss: the client could not parse the reply"
    )


def check_datetimes(value: Any, where: str = "reply") -> None:
    """Every date-time anywhere in a reply (by its field name, or by looking like one) parses."""
    if isinstance(value, dict):
        for name, item in value.items():
            path = f"{where}.{name}"
            if isinstance(item, str) and (_DATE_NAMES.search(name) or _LOOKS_LIKE_DATE.match(item)):
                parse_datetime(item, path)
            else:
                check_datetimes(item, path)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_datetimes(item, f"{where}[{index}]")
    elif isinstance(value, str) and _LOOKS_LIKE_DATE.match(value):
        parse_datetime(value, where)


def _envelope(body: Body) -> tuple[dict[str, Any], Simple]:
    """Code (int, 0 = success) and Message (string); every date-time in the reply parses."""
    obj = _json(body)
    simple = Simple(_field(obj, "Code", int), _field(obj, "Message", str))
    check_datetimes(obj)
    return obj, simple


def parse_simple(body: Body) -> Simple:
    return _envelope(body)[1]


def parse_dial(body: Body) -> str:
    """The SessionID of a successful dial."""
    obj, simple = _envelope(body)
    if simple.code != 0:
        raise WireError(f"dial failed: {obj!r}")
    session_id: str = _field(obj, "SessionID", str)
    return session_id


def parse_call_data(obj: dict[str, Any], where: str = "CallData") -> CallData:
    status = _field(obj, "status", str, where)
    if status not in STATUSES:
        raise WireError(f"{where}.status: {status!r} is none of {sorted(STATUSES)}")
    return CallData(
        can_answer=_field(obj, "canAnswer", bool, where),
        caller_id=_field(obj, "callerId", str, where),
        unique_call_id=_field(obj, "uniqueCallId", str, where),
        secondary_unique_call_id=_field(obj, "secondaryUniqueCallId", str, where),
        call_start_time=parse_datetime(_field(obj, "callStartTime", str, where), f"{where}.callStartTime"),
        is_queue_call=_field(obj, "isQueueCall", bool, where),
        is_click_to_dial_call=_field(obj, "isClickToDialCall", bool, where),
        inbound=_field(obj, "inbound", bool, where),
        status=status,
    )


def parse_event(event: Any, where: str = "Event") -> Event:
    """One subscribe Event: Code, CallID, CallData with the reference's fields and types."""
    if not isinstance(event, dict):
        raise WireError(f"{where} is not an object: {event!r}")
    return Event(
        _field(event, "Code", int, where),
        _field(event, "CallID", int, where),
        parse_call_data(_field(event, "CallData", dict, where), f"{where}.CallData"),
    )


def parse_subscribe(body: Body) -> Subscription:
    """{"Code": 0, "seq": long, "Data": {"<exten>": [Event, ...]}}; every date-time in it parses."""
    obj = _json(body)
    code = _field(obj, "Code", int)
    if code != 0:
        raise WireError(f"subscribe failed: {obj!r}")
    seq = _field(obj, "seq", int)
    data: dict[str, list[Event]] = {}
    for exten, events in _field(obj, "Data", dict).items():
        if not isinstance(events, list):
            raise WireError(f"Data.{exten} is not a list")
        data[exten] = [parse_event(event, f"Data.{exten}[{index}]") for index, event in enumerate(events)]
    check_datetimes(obj)
    return Subscription(code, seq, data)


def parse_statistics(body: Body) -> dict[str, Any]:
    """entities[0] of systemHealth/test (lower-case code and message)."""
    obj = _json(body)
    _field(obj, "code", int)
    _field(obj, "message", str)
    entities = _field(obj, "entities", list)
    if not entities or not isinstance(entities[0], dict):
        raise WireError(f"no statistics in {obj!r}")
    stats: dict[str, Any] = entities[0]
    for name in STATISTICS_NUMBERS:
        _field(stats, name, (int, float), "entities[0]")
    for name in STATISTICS_DATES:
        parse_datetime(_field(stats, name, str, "entities[0]"), f"entities[0].{name}")
    _field(stats, "backupStarting", bool, "entities[0]")
    ping_data = _field(stats, "pingData", dict, "entities[0]")
    for address in ping_data:
        # milliseconds of lag to that trunk address
        _field(ping_data, address, (int, float), "entities[0].pingData")
    return stats


def parse_rosters(body: Body) -> list[Rostered]:
    """getActiveRosters (lower-case code and message); a non-zero code is thrown by the client."""
    obj = _json(body)
    code = _field(obj, "code", int)
    _field(obj, "message", str)
    _field(obj, "type", str)
    if code != 0:
        raise WireError(f"getActiveRosters code {code} is thrown by the client")
    rostered = []
    for index, e in enumerate(_field(obj, "entities", list)):
        where = f"entities[{index}]"
        rostered.append(
            Rostered(
                _field(e, "id", int, where),
                _field(e, "login", str, where),
                _field(e, "extension", str, where),
                _field(e, "phoneNumber", str, where),
                _field(e, "mobileNumber", str, where),
                _field(e, "email", str, where),
                _field(e, "statckPostion", int, where),  # sic
            )
        )
    return rostered


def parse_list(body: Body) -> list[dict[str, Any]]:
    """A CampaignAPI / RecordingAPI list: a simple reply with `entities`, each an object whose id
    (if any) is an integer and name (if any) a string; every date-time in it parses."""
    obj, _ = _envelope(body)
    entities: list[Any] = _field(obj, "entities", list)
    for index, entity in enumerate(entities):
        if not isinstance(entity, dict):
            raise WireError(f"entities[{index}] is not an object: {entity!r}")
        for name, kind in (("id", int), ("name", str)):
            if name in entity:
                _field(entity, name, kind, f"entities[{index}]")
    return entities


def parse_entities(body: Body) -> list[Entity]:
    """What the wget scripts read of a CampaignAPI list: each entity's integer id and string name."""
    return [
        Entity(_field(e, "id", int, f"entities[{i}]"), _field(e, "name", str, f"entities[{i}]"))
        for i, e in enumerate(parse_list(body))
    ]
