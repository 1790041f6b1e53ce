"""The driver interface every PBX speaks through, and the normalised call events it yields."""

from __future__ import annotations

import abc
import re
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from switchboard.errors import Conflict, GatewayTimeout, ServiceUnavailable


class PbxUnavailable(ServiceUnavailable):
    """The PBX cannot be reached: call endpoints answer 503, everything else keeps working."""

    def __init__(
        self, detail: str = "The PBX is unavailable; call control will return when it reconnects."
    ) -> None:
        super().__init__(detail)


class PbxTimedOut(PbxUnavailable):
    """The PBX took the action and did not answer in time (504): the driver keeps listening for its
    answer and either undoes what it did (a dial, a recording's start) or records it (a stop, a
    pause), so what the API says settles on what the PBX did."""

    status = GatewayTimeout.status
    title = GatewayTimeout.title


# Called (in the driver's loop) when the PBX answers Success to an action already answered 504.
LateSuccess = Callable[[], None]


class PbxRefused(Conflict):
    """The PBX would not do it (the call is gone, not connected, ...): nothing changed."""


class OriginateFailed(PbxRefused):
    """The PBX took the dial but could make no call of it (Reason 0: an unregistered phone, an id
    in use): the dial is recorded as ended in `state` (Failed, Busy, ...), never left dialling."""

    def __init__(self, unique_id: str, state: str) -> None:
        super().__init__(f"the PBX could not place call {unique_id}: {state}")
        self.unique_id, self.state = unique_id, state


class RecordingFailed(PbxRefused):
    """The PBX took the recording but wrote no file (Asterisk answers MixMonitor with Success
    before its thread opens the file, and says it could not only in its own log): the leg is
    recorded as failed, never as recording."""

    def __init__(self, unique_id: str, reason: str) -> None:
        super().__init__(f"call {unique_id}: the recording failed: {reason}")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class CallUpdate:
    """A call's state as the PBX reports it, on one extension of the directory."""

    unique_id: str
    extension: str
    state: str  # one of models.CALL_STATES
    direction: str  # inbound | outbound
    other_party: str = ""
    caller_id: str = ""
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    # The tenant, when the PBX knows it (the simulated PBX rings a tenant's extension); otherwise
    # it comes from the extension, if only one tenant has it.
    tenant_pk: int | None = None
    # When the call began, where the PBX says and it is not `at`: a call found already up when
    # the link came (back) up (CoreShowChannel's Duration). A call's first update otherwise.
    started: datetime | None = None


@dataclass(frozen=True, slots=True)
class LiveCall:
    unique_id: str
    extension: str
    state: str
    direction: str
    other_party: str


@dataclass(frozen=True, slots=True)
class SipHeader:
    """A SIP header for the phone's INVITE, as Noojee clients send it: 'Call-Info: answer-after=0'."""

    name: str
    value: str

    @classmethod
    def parse(cls, text: str) -> SipHeader:
        """'Call-info:answer-after=0', 'Call-Info:\\; answer-after=0' (a dialplan-escaped ';'),
        'Alert-Info: Ring Answer'; ValueError if it is not one header line."""
        name, sep, value = text.strip().partition(":")
        value = re.sub(r"\\+;", ";", value).strip()
        if not sep or not _HEADER_NAME.fullmatch(name.strip()) or not value or len(value) > 200:
            raise ValueError("must be true, false or a SIP header such as Call-Info: answer-after=0")
        if any(ord(char) < 32 or ord(char) == 127 for char in value):
            raise ValueError("a SIP header value has no control characters")
        return cls(name.strip(), value)


_HEADER_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,63}")


@dataclass(frozen=True, slots=True)
class Origination:
    """A call to place: ring `extension` (the agent's phone), then dial `number` from it."""

    extension: str
    number: str
    caller_id: str = ""
    auto_answer: bool = False
    # A SIP header asking the phone to answer by itself, added to its INVITE where the channel
    # takes headers; implied by auto_answer when not given.
    answer_header: SipHeader | None = None
    caller_name: str = ""  # what the agent's phone shows while it rings


# Channel names as Asterisk writes them: PJSIP/410-0000002a, SIP/410-12FA7B, Local/410@ctx-0001;1.
_CHANNEL = re.compile(r"^(?:[A-Za-z0-9]+)/(?P<exten>[^-@/;]+)(?:[-@;].*)?$")


# Unique ids of dials: <epoch second>.<18 random digits>. Asterisk's form (a ChannelId it accepts;
# Noojee clients tell ids from extensions by it), out of the range of Asterisk's own ids
# (<second>.<channels since start>), and about 60 random bits within each second: no two workers
# or machines draw the same one, with nothing to share.
_RANDOM_LOW, _RANDOM_SPAN = 10**17, 9 * 10**17


def new_unique_id() -> str:
    return f"{int(time.time())}.{_RANDOM_LOW + secrets.randbelow(_RANDOM_SPAN)}"


def is_local_far_half(channel: str) -> bool:
    """'Local/410@ctx-00000001;2': the half of a Local channel that runs the dialplan, the far end
    of its ;1 half (Linkedid says so). Both name extension 410, but they are one call: the ;1
    half's, the one Originate made (its id is the dial's) and the one to hang up or record."""
    tech, _, rest = channel.partition("/")
    return tech.lower() == "local" and rest.endswith(";2")


def extension_of_channel(channel: str) -> str | None:
    """'PJSIP/410-0000002a' -> '410'; also Noojee's dial form 'SIP/410'. None if not a channel."""
    match = _CHANNEL.match(channel)
    return match.group("exten") if match else None


class Driver(abc.ABC):
    """What Switchboard needs from a PBX. Methods raise PbxUnavailable or PbxRefused."""

    # Whether the recording files the PBX writes are visible here, so that a missing one means
    # the PBX recorded nothing (False: an Asterisk on another host with no shared directory).
    recording_files_visible: bool = True

    @property
    @abc.abstractmethod
    def available(self) -> bool:
        """Whether the PBX can be reached now (readyz reports it)."""

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Connect (drivers that need to); called once at app start."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Disconnect; called once at app shutdown."""

    @abc.abstractmethod
    async def originate(self, call: Origination) -> str:
        """Ring the call's extension, then dial its number from it; returns its unique id."""

    @abc.abstractmethod
    async def hangup(self, unique_id: str) -> None: ...

    async def answer(self, unique_id: str) -> None:
        """Make the phone of a ringing call answer it; PbxRefused where the PBX cannot."""
        raise PbxRefused(f"call {unique_id}: this phone cannot be answered remotely")

    @abc.abstractmethod
    async def record_start(self, unique_id: str, path: str) -> None: ...

    @abc.abstractmethod
    async def record_stop(self, unique_id: str, late: LateSuccess | None = None) -> None:
        """Stop the call's recording; `late` runs if the PBX does it after a PbxTimedOut."""

    @abc.abstractmethod
    async def record_pause(self, unique_id: str, paused: bool, late: LateSuccess | None = None) -> None:
        """Pause (True) or resume (False) the call's recording; `late` as for record_stop."""

    @abc.abstractmethod
    async def live_calls(self) -> list[LiveCall]: ...

    @property
    @abc.abstractmethod
    def address(self) -> str:
        """Where the PBX link goes (the host, or "simulated"): systemHealth's pingData key."""

    @abc.abstractmethod
    async def ping(self) -> float:
        """The link's round trip now, in milliseconds (PbxUnavailable when it is down)."""

    def on_connected(self, callback: Callable[[], None]) -> None:
        """Call `callback` each time the PBX (re)connects: events may have been missed."""
        self._connected_callbacks = [*getattr(self, "_connected_callbacks", []), callback]

    def _connected(self) -> None:
        for callback in getattr(self, "_connected_callbacks", []):
            callback()

    def pending(self) -> int:
        """Updates produced but not yet taken from `updates()`."""
        return 0

    @abc.abstractmethod
    def updates(self) -> AsyncIterator[CallUpdate]:
        """Every call state change, in order, for as long as the driver runs."""
