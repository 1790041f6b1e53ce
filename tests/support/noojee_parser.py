"""A strict reader of Noojee replies, written to the parse rules of Noojee's Java client 1.4.3
(../shared/reference/noojee-client-wire.md): what it would fail on raises AssertionError."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import orjson

STATUSES = frozenset({"Dialing Out", "Connected", "Ringing", "Hungup"})
CALL_DATA = {
    "canAnswer": bool,
    "callerId": str,
    "uniqueCallId": str,
    "secondaryUniqueCallId": str,
    "callStartTime": str,
    "isQueueCall": bool,
    "isClickToDialCall": bool,
    "inbound": bool,
    "status": str,
}
# Its date-time forms, chosen by length (and the separator): no fraction, no offset.
_FORMATS = {
    16: ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M"),
    19: ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"),
}
# A value that starts like a date is read as one by its client.
_LOOKS_LIKE_DATE = re.compile(r"^\d{4}[-/]\d{2}[-/]\d{2}")
_DATE_NAMES = re.compile(r"(Time|Date|At)$|^(Start|Stop|End|Date|Time)$")


def parse_datetime(value: Any, where: str = "date-time") -> datetime | None:
    """None for '', else the naive local date-time the client would read."""
    assert isinstance(value, str), f"{where}: {value!r} is not a string"
    if value == "":
        return None
    for pattern in _FORMATS.get(len(value), ()):
        try:
            return datetime.strptime(value, pattern)
        except ValueError:
            continue
    raise AssertionError(
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


def _json(body: bytes | str | dict[str, Any]) -> dict[str, Any]:
    parsed = body if isinstance(body, dict) else orjson.loads(body)
    assert isinstance(parsed, dict), f"the reply is not a JSON object: {parsed!r}"
    return parsed


def _typed(obj: dict[str, Any], name: str, kind: type, where: str) -> Any:
    assert name in obj, f"{where}: no {name!r} in {sorted(obj)}"
    value = obj[name]
    # bool is an int in Python; the client's int and boolean are distinct.
    ok = isinstance(value, kind) and (kind is bool or not isinstance(value, bool))
    assert ok, f"{where}.{name}: {value!r} is not {kind.__name__}"
    return value


def parse_simple(body: bytes | str | dict[str, Any]) -> dict[str, Any]:
    """Code (int, 0 = success) and Message (string); every date-time in it parses."""
    reply = _json(body)
    _typed(reply, "Code", int, "reply")
    _typed(reply, "Message", str, "reply")
    check_datetimes(reply)
    return reply


def parse_dial(body: bytes | str | dict[str, Any]) -> str:
    """The SessionID of a successful dial."""
    reply = parse_simple(body)
    assert reply["Code"] == 0, reply
    session_id: str = _typed(reply, "SessionID", str, "reply")
    return session_id


def parse_entities(body: bytes | str | dict[str, Any]) -> list[dict[str, Any]]:
    """CampaignAPI / RecordingAPI lists as the wget scripts read them: an integer id and a string
    name on each entity that has them."""
    reply = parse_simple(body)
    entities = _typed(reply, "entities", list, "reply")
    for index, entity in enumerate(entities):
        assert isinstance(entity, dict), f"entities[{index}] is not an object"
        if "id" in entity:
            _typed(entity, "id", int, f"entities[{index}]")
        if "name" in entity:
            _typed(entity, "name", str, f"entities[{index}]")
    return entities


def parse_event(event: Any, where: str) -> dict[str, Any]:
    """One subscribe Event: Code, CallID, CallData with the reference's fields and types."""
    assert isinstance(event, dict), f"{where} is not an object"
    _typed(event, "Code", int, where)
    _typed(event, "CallID", int, where)
    data = _typed(event, "CallData", dict, where)
    for name, kind in CALL_DATA.items():
        _typed(data, name, kind, f"{where}.CallData")
    parse_datetime(data["callStartTime"], f"{where}.CallData.callStartTime")
    status = data["status"]
    assert status in STATUSES, f"{where}.CallData.status: {status!r} is none of {sorted(STATUSES)}"
    return event


def parse_subscribe(body: bytes | str | dict[str, Any]) -> tuple[int, dict[str, list[dict[str, Any]]]]:
    """(seq, events by extension) of {"Code": 0, "seq": long, "Data": {"<exten>": [Event, ...]}}."""
    reply = _json(body)
    assert _typed(reply, "Code", int, "reply") == 0, reply
    seq: int = _typed(reply, "seq", int, "reply")
    data = _typed(reply, "Data", dict, "reply")
    for exten, events in data.items():
        assert isinstance(events, list), f"Data.{exten} is not a list"
        for index, event in enumerate(events):
            parse_event(event, f"Data.{exten}[{index}]")
    check_datetimes(reply)
    return seq, data
