"""An in-test Asterisk Manager Interface server speaking what Asterisk 22 (AMI 11.0.0) speaks."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import struct
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
Fields = list[tuple[str, str]]  # a block's lines in order (a header may repeat: Variable)

# Channel states and their ChannelStateDesc (main/channel.c ast_state2str).
DOWN, RING, RINGING, UP = 0, 4, 5, 6
STATE_DESC = {DOWN: "Down", RING: "Ring", RINGING: "Ringing", UP: "Up"}

# Hangup causes and their Cause-txt (main/channel.c causes[]).
CAUSE_TEXT = {
    0: "Unknown",
    1: "Unallocated (unassigned) number",
    16: "Normal Clearing",
    17: "User busy",
    19: "User alerting, no answer",
    21: "Call Rejected",
    34: "Circuit/channel congestion",
}
NORMAL_CLEARING, USER_BUSY, NO_ANSWER, CONGESTION = 16, 17, 19, 34

# OriginateResponse Reason: the last control frame seen (include/asterisk/frame.h AST_CONTROL_*);
# 0 when no channel could be made at all (an unregistered PJSIP phone, a ChannelId in use).
REASON_FAILED, REASON_HANGUP, REASON_RING_TIMEOUT, REASON_ANSWERED = 0, 1, 3, 4
REASON_BUSY, REASON_CONGESTION = 5, 8
# How each failure Reason shows on a channel that was made: DialEnd's DialStatus, Hangup's Cause.
_FAILURES = {
    REASON_RING_TIMEOUT: ("NOANSWER", NO_ANSWER),
    REASON_BUSY: ("BUSY", USER_BUSY),
    REASON_CONGESTION: ("CONGESTION", CONGESTION),
}

FAILING_EXTENSION = "404"  # Originate to this extension rings, goes unanswered and fails

# Action replies, word for word from Asterisk 22 (main/manager.c, apps/app_mixmonitor.c).
PERMISSION_DENIED = "Permission denied"
MISSING_ACTION = "Missing action in request"
AUTH_ACCEPTED = "Authentication accepted"
AUTH_FAILED = "Authentication failed"
ALREADY_AUTHENTICATED = "Already authenticated"
GOODBYE = "Thanks for all the fish."
UNKNOWN_COMMAND = "Invalid/unknown command: {action}. Use Action: ListCommands to show available commands."
NO_CHANNEL_SPECIFIED = "No channel specified"
NO_SUCH_CHANNEL = "No such channel"
CHANNEL_HUNGUP = "Channel Hungup"
ORIGINATE_QUEUED = "Originate successfully queued"
ORIGINATE_FAILED = "Originate failed"
ORIGINATE_NO_CHANNEL = "Channel not specified"
ORIGINATE_INVALID_CHANNEL = "Invalid channel"
ORIGINATE_INVALID_PRIORITY = "Invalid priority"
ORIGINATE_INVALID_TIMEOUT = "Invalid timeout"
ORIGINATE_EXTEN_NEEDS = "Originate with 'Exten' requires 'Context' and 'Priority'"
MIXMONITOR_START_FAILED = "Could not start monitoring channel"
MIXMONITOR_STOP_FAILED = "Could not stop monitoring channel"
MUTE_NO_DIRECTION = "No direction specified. Must be read, write or both"
MUTE_BAD_DIRECTION = "Invalid direction specified. Must be read, write or both"
MUTE_NO_STATE = "No state specified"
MUTE_FAILED = "Cannot set mute flag"
CHANNELS_FOLLOW = "Channels will follow"
# res_pjsip_notify.c
NOTIFY_SENT = "NOTIFY sent"
NOTIFY_NO_TARGET = "PJSIPNotify requires either an endpoint name, a SIP URI, or a channel."
NOTIFY_TWO_TARGETS = NOTIFY_NO_TARGET[:-1] + ".  You must use only one of them."
NOTIFY_OPTION_AND_VARIABLE = (
    "PJSIPNotify action can not handle a request specifying both 'Option' and 'Variable' parameters. "
    "You must use only one of the two."
)
NOTIFY_NO_CONTENT = "PJSIPNotify requires either an Option or Variable(s)."
NOTIFY_NO_ENDPOINT = "Unable to retrieve endpoint {endpoint}"
INVALID_EVENT_MASK = "Invalid event mask"

_TRUE = {"yes", "true", "y", "t", "1", "on"}  # main/utils.c ast_true
_FALSE = {"no", "false", "n", "f", "0", "off"}  # main/utils.c ast_false


_RATE = 8000  # slin, 8 kHz mono 16-bit: MixMonitor's .wav


def _wav(samples: int) -> bytes:
    """A WAV file of `samples` of silence (the tests' audio need not be heard)."""
    data = samples * 2
    header = b"RIFF" + struct.pack("<I", 36 + data) + b"WAVEfmt "
    header += struct.pack("<IHHIIHH", 16, 1, 1, _RATE, _RATE * 2, 2, 16)
    return header + b"data" + struct.pack("<I", data) + bytes(data)


def _is_true(value: str) -> bool:
    return value.strip().lower() in _TRUE


def _is_false(value: str) -> bool:
    return value.strip().lower() in _FALSE


def encode(fields: Iterable[tuple[str, str]]) -> bytes:
    """One whole block: `Key: Value` lines and the empty line that ends it."""
    return "".join(f"{key}: {value}\r\n" for key, value in fields).encode() + b"\r\n"


def _known(value: str) -> str:
    return value or "<unknown>"


def _split_args(text: str) -> list[str]:
    """Split at commas outside parentheses, as ast_app_separate_args does for Variable headers."""
    parts: list[str] = []
    depth, current = 0, ""
    for char in text:
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        if char == "(":
            depth += 1
        elif char == ")" and depth:
            depth -= 1
        current += char
    return [*parts, current]


def _parse_callerid(callerid: str) -> tuple[str, str]:
    """'"Agent" <9000>' -> ('9000', 'Agent'); '9000' -> ('9000', '') (as ast_callerid_parse does)."""
    callerid = callerid.strip()
    if "<" in callerid and callerid.endswith(">"):
        name, _, number = callerid[:-1].partition("<")
        return number.strip(), name.strip().strip('"')
    if callerid.replace("+", "").isdigit():
        return callerid, ""
    return "", callerid.strip('"')


@dataclass(eq=False)
class _Originate:
    """An Originate still waiting for its channel to answer or fail."""

    client: _Client
    action_id: str
    is_async: bool
    requested: str  # the Channel header, which a failed OriginateResponse names
    channel_id: str
    application: str
    data: str
    context: str
    exten: str
    cid_num: str
    cid_name: str


@dataclass(eq=False)
class Channel:
    """A live channel as Asterisk's channel snapshot describes it."""

    name: str
    uniqueid: str
    linkedid: str
    state: int
    direction: str  # "inbound" (inject_inbound) or "outbound" (Originate)
    caller_num: str = ""
    caller_name: str = ""
    connected_num: str = ""
    connected_name: str = ""
    context: str = "default"
    exten: str = "s"
    priority: int = 1
    application: str = ""
    application_data: str = ""
    account: str = ""
    bridge_id: str = ""
    recording: str | None = None  # the MixMonitor file while recording
    recording_since: float | None = None  # when the monitor thread opened that file (None: it could not)
    recordings: list[str] = field(default_factory=list)  # every file MixMonitor was asked to write
    muted: set[str] = field(default_factory=set)  # "read" and/or "write" while MixMonitorMute'd
    variables: dict[str, str] = field(default_factory=dict)
    created: float = field(default_factory=time.monotonic)
    answered: float | None = None  # wall-clock time it was answered (its CDR's answer time)
    originate: _Originate | None = None
    partner: Channel | None = None  # a Local channel's other half (;1 <-> ;2)

    @property
    def state_desc(self) -> str:
        return STATE_DESC.get(self.state, f"Unknown ({self.state})")

    def snapshot(self, prefix: str = "") -> Fields:
        """The channel fields every channel event carries (ast_manager_build_channel_state_string)."""
        return [
            (f"{prefix}Channel", self.name),
            (f"{prefix}ChannelState", str(self.state)),
            (f"{prefix}ChannelStateDesc", self.state_desc),
            (f"{prefix}CallerIDNum", _known(self.caller_num)),
            (f"{prefix}CallerIDName", _known(self.caller_name)),
            (f"{prefix}ConnectedLineNum", _known(self.connected_num)),
            (f"{prefix}ConnectedLineName", _known(self.connected_name)),
            (f"{prefix}Language", "en"),
            (f"{prefix}AccountCode", self.account),
            (f"{prefix}Context", self.context),
            (f"{prefix}Exten", self.exten),
            (f"{prefix}Priority", str(self.priority)),
            (f"{prefix}Uniqueid", self.uniqueid),
            (f"{prefix}Linkedid", self.linkedid),
        ]


class _Action:
    """A received action: headers looked up case-insensitively, first one wins (astman_get_header)."""

    def __init__(self, lines: Fields) -> None:
        self.lines = lines
        self._lower: dict[str, str] = {}
        for key, value in lines:
            self._lower.setdefault(key.lower(), value)

    def get(self, key: str) -> str:
        return self._lower.get(key.lower(), "")

    def all(self, key: str) -> list[str]:
        return [value for name, value in self.lines if name.lower() == key.lower()]

    def as_dict(self) -> dict[str, str]:
        """Keys as sent; repeated Variable headers joined by commas (Asterisk accepts both forms)."""
        result: dict[str, str] = {}
        for key, value in self.lines:
            if key in result and key.lower() == "variable":
                result[key] += f",{value}"
            else:
                result.setdefault(key, value)
        return result


_ALL_EVENTS = frozenset({"all"})


@dataclass(eq=False)
class _Client:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    logged_in: bool = False
    events: frozenset[str] = _ALL_EVENTS  # event classes sent ("all", "call", "system", ...)
    task: asyncio.Task[None] | None = None

    def wants(self, privilege: str) -> bool:
        if not self.logged_in or not self.events:
            return False
        if "all" in self.events:
            return True
        return bool(self.events & {part for part in privilege.split(",") if part != "all"})

    async def send(self, fields: Fields) -> bool:
        """Write one whole block; False if the client has gone (never raises for that)."""
        data = encode(fields)
        # One writer at a time so two blocks never interleave on the wire.
        async with self.lock:
            if self.writer.is_closing():
                return False
            try:
                self.writer.write(data)
                await self.writer.drain()
            except (ConnectionError, OSError):
                self.writer.close()
                return False
        return True

    def close(self) -> None:
        self.writer.close()


def _event_mask(value: str) -> frozenset[str] | None:
    """Login's `Events:` / Events' `EventMask:` as event classes (strings_to_mask); None if invalid."""
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return _ALL_EVENTS if int(value) else frozenset()
    if _is_false(value):
        return frozenset()
    if _is_true(value):
        return _ALL_EVENTS
    return frozenset(part.strip().lower() for part in value.split(",") if part.strip())


Handler = Callable[[_Client, _Action], Awaitable[bool]]


class AmiServer:
    """A PBX on 127.0.0.1 that tests drive: calls come and go on command; clients see the events."""

    # The default credentials are the test PBX's, known to every test that logs in.
    def __init__(self, username: str = "switchboard", secret: str = "s3cr3t") -> None:  # noqa: S107
        self.username, self.secret = username, secret
        self.actions: list[dict[str, str]] = []  # the actions run, in order
        self.received: list[dict[str, str]] = []  # every action read, frozen or not
        self.channels: dict[str, Channel] = {}
        self.answer_originate = True
        self.inbound_context = "from-internal"
        # PJSIP endpoints besides those with a live channel; phones answer a NOTIFY "Event: talk".
        self.endpoints: set[str] = set()
        self.answer_on_talk = True
        self.notifies: list[tuple[str, list[str]]] = []  # (endpoint, Variable values) sent NOTIFYs
        self.errors: list[BaseException] = []  # unexpected exceptions in client handlers (tests assert none)
        # Endpoint -> the Reason an Originate to it fails with: REASON_FAILED makes no channel (an
        # unregistered PJSIP phone); the others ring it first (no answer, busy, congestion).
        self.failures: dict[str, int] = {FAILING_EXTENSION: REASON_RING_TIMEOUT}
        # Seconds between queueing an Originate and making its channel (or failing to): a slow PBX.
        # The client's next action waits too (Asterisk would run it meanwhile: tests need not).
        self.originate_delay = 0.0
        # Directories the Asterisk user may not write to (another owner, a 0700 data directory):
        # a MixMonitor file there is never created. Asterisk answers Success and announces
        # MixMonitorStart all the same; the failure is only in its log (`log`) and the missing file.
        self.unwritable: set[Path] = set()
        self.log: list[str] = []  # Asterisk's own log lines that clients never see
        self._thawed = asyncio.Event()  # cleared while frozen (kill -STOP): no action is read
        self._thawed.set()
        self._port = 0
        self._server: asyncio.Server | None = None
        self._clients: set[_Client] = set()
        self._logins = asyncio.Condition()  # notified whenever a client logs in or goes
        self._booted = time.monotonic()
        self._uniqueids = itertools.count(1)  # Asterisk's uniqueint: one per channel, ChannelId or not
        self._sequence = itertools.count(1)  # the 8-hex suffix of channel names, as Asterisk counts
        self._handlers: dict[str, Handler] = {
            "login": self._login,
            "logoff": self._logoff,
            "ping": self._ping,
            "events": self._events,
            "originate": self._originate,
            "hangup": self._hangup_action,
            "mixmonitor": self._mixmonitor,
            "stopmixmonitor": self._stop_mixmonitor,
            "mixmonitormute": self._mixmonitor_mute,
            "coreshowchannels": self._core_show_channels,
            "getvar": self._getvar,
            "pjsipnotify": self._pjsip_notify,
        }

    # -- lifecycle --------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    @property
    def logged_in(self) -> int:
        """How many clients are logged in now."""
        # A tuple first: tests running the server in another thread's loop read this from theirs.
        return sum(client.logged_in for client in tuple(self._clients))

    async def start(self, port: int = 0) -> int:
        """Listen on 127.0.0.1; port 0 reuses the port of an earlier start (a PBX coming back)."""
        if self._server is not None:
            raise RuntimeError("AMI server already started")
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", port or self._port)
        self._port = self._server.sockets[0].getsockname()[1]
        return self._port

    async def stop(self) -> None:
        """The PBX goes down: no more listening and every client connection dropped."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        await self.drop_connections()
        if server is not None:
            await server.wait_closed()

    async def drop_connections(self) -> None:
        """A blip: every client connection closes, the listener stays; channels live on."""
        clients = list(self._clients)
        for client in clients:
            client.close()
        tasks = [client.task for client in clients if client.task is not None and not client.task.done()]
        if tasks:
            _, stuck = await asyncio.wait(tasks, timeout=2)
            for task in stuck:
                task.cancel()
            await asyncio.gather(*stuck, return_exceptions=True)

    async def wait_logged_in(self, count: int = 1) -> None:
        """Until `count` clients are logged in (a client reconnecting); bound it with asyncio.timeout."""
        async with self._logins:
            await self._logins.wait_for(lambda: self.logged_in >= count)

    async def _logins_changed(self) -> None:
        async with self._logins:
            self._logins.notify_all()

    # -- the PBX side, driven by tests ------------------------------------------------------------

    def _inbound(self, extension: str, caller: str, uniqueid: str, state: int) -> Channel:
        channel = self.channels[uniqueid] = Channel(
            name=f"PJSIP/{extension}-{next(self._sequence):08x}",
            uniqueid=uniqueid,
            linkedid=uniqueid,
            state=state,
            direction="inbound",
            caller_num=caller,
            connected_num=caller,
            context=self.inbound_context,
            exten=extension,
            application="AppDial2",
            application_data="(Outgoing Line)",
        )
        return channel

    async def inject_inbound(self, extension: str, caller: str) -> str:
        """A call for `extension` from `caller` starts ringing on PJSIP/<extension>; its Uniqueid."""
        uniqueid = self._new_uniqueid()
        channel = self._inbound(extension, caller, uniqueid, RINGING)
        await self._channel_event("Newchannel", channel)
        return uniqueid

    async def answer(self, uniqueid: str) -> None:
        """The channel's phone answers: Newstate Up, then it is bridged with the other party."""
        await self._answer(self._by_uniqueid(uniqueid))

    async def remote_hangup(self, uniqueid: str, cause: int = NORMAL_CLEARING) -> None:
        """The far end hangs up (Cause 16; 17 a phone that was busy, 19 one left ringing) and the
        channel is gone."""
        await self._hangup(self._by_uniqueid(uniqueid), cause, requested_by="HangupRequest")

    def existing_call(
        self, extension: str, caller: str, uniqueid: str = "", age: float = 0.0, answered_after: float = 0.0
    ) -> str:
        """A call on PJSIP/<extension>, answered, that no client heard begin: it was up before they
        logged in (or its events are still on their way); CoreShowChannels lists it. It began `age`
        seconds ago and was answered `answered_after` seconds after it began. Its Uniqueid."""
        uniqueid = uniqueid or self._new_uniqueid()
        channel = self._inbound(extension, caller, uniqueid, UP)
        channel.bridge_id = str(uuid.uuid4())
        channel.created -= age
        channel.answered = time.time() - age + answered_after
        return uniqueid

    def freeze(self) -> None:
        """As `kill -STOP`: connections stay open, actions sent meanwhile wait unread, unanswered."""
        self._thawed.clear()

    def resume(self) -> None:
        """As `kill -CONT`: the waiting actions run, in order; their replies and events come late."""
        self._thawed.set()

    def _by_uniqueid(self, uniqueid: str) -> Channel:
        try:
            return self.channels[uniqueid]
        except KeyError:
            raise KeyError(f"no live channel with Uniqueid {uniqueid!r}") from None

    def _find(self, name_or_uniqueid: str) -> Channel | None:
        """By channel name (case-insensitive) or Uniqueid, as ast_channel_get_by_name looks up."""
        wanted = name_or_uniqueid.lower()
        for channel in self.channels.values():
            if channel.name.lower() == wanted:
                return channel
        return self.channels.get(name_or_uniqueid)

    def _new_uniqueid(self) -> str:
        """<creation time>.<channel count>, as Asterisk makes them (main/channel_internal_api.c)."""
        while True:
            uniqueid = f"{int(time.time())}.{next(self._uniqueids)}"
            # Asterisk never checks its own ids against assigned ones; channels here are keyed by id.
            if uniqueid not in self.channels:
                return uniqueid

    # -- connections ------------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        client = _Client(reader, writer, task=asyncio.current_task())
        self._clients.add(client)
        try:
            async with client.lock:
                writer.write(BANNER)
                await writer.drain()
            while True:
                await self._thawed.wait()
                lines = await self._read_block(reader)
                if lines:  # what reached Asterisk's socket, run or not (a frozen one runs it later)
                    self.received.append(_Action(lines).as_dict())
                await self._thawed.wait()  # a block that arrived while frozen waits in the buffer
                if lines is None:
                    break
                if not lines:
                    continue  # stray empty lines between blocks
                action = _Action(lines)
                self.actions.append(action.as_dict())
                if not await self._dispatch(client, action):
                    break
        except (ConnectionError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # the client went away mid-block: what a PBX sees when a client dies
        except asyncio.CancelledError:
            pass  # stop() gave up waiting on this connection; ending quietly is the point
        except Exception as exc:  # a bug here would otherwise vanish into the event loop's log
            log.exception("AMI test server: client handler failed")
            self.errors.append(exc)
        finally:
            self._clients.discard(client)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            if client.logged_in:
                await self._logins_changed()

    @staticmethod
    async def _read_block(reader: asyncio.StreamReader) -> Fields | None:
        """The next block's lines (empty for a bare empty line); None at end of stream."""
        lines: Fields = []
        while True:
            raw = await reader.readline()
            if not raw:
                return None
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if not line:
                return lines
            key, sep, value = line.partition(":")
            if sep:
                lines.append((key.strip(), value.strip()))

    async def _dispatch(self, client: _Client, action: _Action) -> bool:
        """Run one action (process_message); False when the connection must close."""
        name = action.get("Action").strip()
        if not name:
            await self._error(client, action, MISSING_ACTION)
            return True
        if not client.logged_in and name.lower() not in ("login", "logoff", "challenge"):
            await self._error(client, action, PERMISSION_DENIED)
            return True
        handler = self._handlers.get(name.lower())
        if handler is None:
            await self._error(client, action, UNKNOWN_COMMAND.format(action=name))
            return True
        return await handler(client, action)

    @staticmethod
    def _response(
        action: _Action, response: str, message: str | None = None, extra: Fields | None = None
    ) -> Fields:
        """Response, ActionID (when sent), then Message (astman_send_response_full)."""
        fields: Fields = [("Response", response)]
        if action_id := action.get("ActionID"):
            fields.append(("ActionID", action_id))
        fields.extend(extra or [])
        if message is not None:
            fields.append(("Message", message))
        return fields

    async def _error(self, client: _Client, action: _Action, message: str) -> None:
        await client.send(self._response(action, "Error", message))

    async def _success(self, client: _Client, action: _Action, message: str | None = None) -> None:
        await client.send(self._response(action, "Success", message))

    async def _emit(self, event: str, privilege: str, fields: Fields) -> None:
        """An event to every logged-in client that takes its class; then let the loop breathe."""
        block: Fields = [("Event", event), ("Privilege", privilege), *fields]
        for client in list(self._clients):
            if client.wants(privilege):
                await client.send(block)
        await asyncio.sleep(0)

    async def _channel_event(self, event: str, channel: Channel, extra: Fields | None = None) -> None:
        await self._emit(event, "call,all", [*channel.snapshot(), *(extra or [])])

    # -- session actions --------------------------------------------------------------------------

    async def _login(self, client: _Client, action: _Action) -> bool:
        if client.logged_in:
            await self._success(client, action, ALREADY_AUTHENTICATED)
            return True
        if action.get("Username") != self.username or action.get("Secret") != self.secret:
            # Asterisk waits a second first (a brake on guessing); tests need no brake.
            await self._error(client, action, AUTH_FAILED)
            return False  # and Asterisk closes the session
        mask = _event_mask(action.get("Events")) if action.get("Events") else _ALL_EVENTS
        client.events = _ALL_EVENTS if mask is None else mask
        client.logged_in = True
        await self._success(client, action, AUTH_ACCEPTED)
        await self._logins_changed()
        if client.wants("system,all"):
            uptime = str(int(time.monotonic() - self._booted))
            await client.send(
                [
                    ("Event", "FullyBooted"),
                    ("Privilege", "system,all"),
                    ("Uptime", uptime),
                    ("LastReload", uptime),
                    ("Status", "Fully Booted"),
                ]
            )
        return True

    async def _logoff(self, client: _Client, action: _Action) -> bool:
        await client.send(self._response(action, "Goodbye", GOODBYE))
        return False

    async def _ping(self, client: _Client, action: _Action) -> bool:
        await client.send(
            self._response(action, "Success", extra=[("Ping", "Pong"), ("Timestamp", f"{time.time():.6f}")])
        )
        return True

    async def _events(self, client: _Client, action: _Action) -> bool:
        mask = _event_mask(action.get("EventMask"))
        if mask is None:
            await self._error(client, action, INVALID_EVENT_MASK)
            return True
        client.events = mask
        await client.send(self._response(action, "Success", extra=[("Events", "On" if mask else "Off")]))
        return True

    # -- Originate --------------------------------------------------------------------------------

    async def _originate(self, client: _Client, action: _Action) -> bool:
        requested = action.get("Channel")
        priority, timeout = action.get("Priority"), action.get("Timeout")
        application, exten, context = action.get("Application"), action.get("Exten"), action.get("Context")
        tech, _, data = requested.partition("/")
        problem = None
        if not requested:
            problem = ORIGINATE_NO_CHANNEL
        elif priority and not priority.lstrip("-").isdigit():
            problem = ORIGINATE_INVALID_PRIORITY
        elif timeout and not timeout.lstrip("-").isdigit():
            problem = ORIGINATE_INVALID_TIMEOUT
        elif not data:
            problem = ORIGINATE_INVALID_CHANNEL
        is_async = _is_true(action.get("Async"))
        if problem is None and not is_async and not application and not (exten and context and priority):
            problem = ORIGINATE_EXTEN_NEEDS
        if problem is not None:
            await self._error(client, action, problem)
            return True

        cid_num, cid_name = _parse_callerid(action.get("CallerID"))
        pending = _Originate(
            client=client,
            action_id=action.get("ActionID"),
            is_async=is_async,
            requested=requested,
            channel_id=action.get("ChannelId"),
            application=application,
            data=action.get("Data"),
            context=context,
            exten=exten,
            cid_num=cid_num,
            cid_name=cid_name,
        )
        if is_async:  # queued at once; the outcome comes later as an OriginateResponse event
            await self._success(client, action, ORIGINATE_QUEUED)
        if is_async and self.originate_delay:
            await asyncio.sleep(self.originate_delay)
        endpoint, _, local_context = data.partition("@")
        endpoint = endpoint.split("/")[0]
        failure = self.failures.get(endpoint)
        # No channel: for a ChannelId a live channel has (its log says so, main/channel.c), or a
        # phone with no contact; the client sees only Reason 0.
        holder = self.channels.get(pending.channel_id) if pending.channel_id else None
        if holder is not None:
            self.log.append(
                f"ERROR[channel.c] Channel Unique ID '{pending.channel_id}' already in use"
                f" by channel {holder.name}"
            )
        if holder is not None or failure == REASON_FAILED:
            await self._originate_done(pending, None, REASON_FAILED)
            return True
        local = tech.lower() == "local"
        generated = self._new_uniqueid()  # counted even when ChannelId names the channel, as in Asterisk
        uniqueid = pending.channel_id or generated
        sequence = f"{next(self._sequence):08x}"
        channel = Channel(
            # Local channels come in halves (;1 and ;2); the ;1 half is the one Originate dials.
            name=f"{tech}/{data}-{sequence};1" if local else f"{tech}/{endpoint}-{sequence}",
            uniqueid=uniqueid,
            linkedid=uniqueid,
            state=DOWN,
            direction="outbound",
            context=context or local_context or "default",
            exten=exten or endpoint,
            account=action.get("Account"),
            application="AppDial2",
            application_data="(Outgoing Line)",
            originate=pending,
        )
        self.channels[uniqueid] = channel
        await self._channel_event("Newchannel", channel)
        if local:  # the ;2 half runs the dialplan at <exten>@<context>, linked to the ;1 half
            far = Channel(
                name=channel.name[:-1] + "2",
                uniqueid=self._new_uniqueid(),
                linkedid=uniqueid,
                state=RING,
                direction="outbound",
                context=channel.context,
                exten=endpoint,
                partner=channel,
            )
            channel.partner = self.channels[far.uniqueid] = far
            await self._channel_event("Newchannel", far)
        for assignment in _split_args(",".join(action.all("Variable"))):
            variable, sep, value = assignment.partition("=")
            if sep and "(" not in variable:  # functions (PJSIP_HEADER(...)) are calls, not variables
                channel.variables[variable.strip()] = value
                await self._emit(
                    "VarSet",
                    "dialplan,all",
                    [*channel.snapshot(), ("Variable", variable.strip()), ("Value", value)],
                )
        if cid_num or cid_name:
            channel.caller_num, channel.caller_name = cid_num, cid_name
            await self._channel_event(
                "NewCallerid", channel, [("CID-CallingPres", "0 (Presentation Allowed, Not Screened)")]
            )
            channel.connected_num, channel.connected_name = cid_num, cid_name
            await self._channel_event("NewConnectedLine", channel)
        await self._emit("DialBegin", "call,all", [*channel.snapshot("Dest"), ("DialString", data)])
        channel.state = RINGING
        await self._channel_event("Newstate", channel)
        if failure in _FAILURES:
            # An Originate's DialEnd names only the dialled channel (Dest...), never a Uniqueid.
            status, cause = _FAILURES[failure]
            await self._emit("DialEnd", "call,all", [*channel.snapshot("Dest"), ("DialStatus", status)])
            await self._hangup(channel, cause, reason=failure)
        elif self.answer_originate:
            await self._answer(channel)
        return True

    async def _originate_done(self, pending: _Originate, channel: Channel | None, reason: int) -> None:
        """Async: the OriginateResponse event (fast_originate); sync: the action's deferred reply."""
        if not pending.is_async:
            if channel is not None:
                await pending.client.send(self._reply_to(pending, "Success", ORIGINATE_QUEUED))
            else:
                await pending.client.send(self._reply_to(pending, "Error", ORIGINATE_FAILED))
            return
        fields: Fields = [("ActionID", pending.action_id)] if pending.action_id else []
        fields.append(("Response", "Success" if channel is not None else "Failure"))
        fields.append(("Channel", channel.name if channel is not None else pending.requested))
        if pending.application:
            fields += [("Application", pending.application), ("Data", pending.data)]
        else:
            fields += [("Context", pending.context), ("Exten", pending.exten)]
        fields += [
            ("Reason", str(reason)),
            # A failed channel no longer exists: Asterisk names the requested ChannelId, if any.
            ("Uniqueid", channel.uniqueid if channel is not None else pending.channel_id or "<unknown>"),
            ("CallerIDNum", _known(pending.cid_num)),
            ("CallerIDName", _known(pending.cid_name)),
        ]
        await self._emit("OriginateResponse", "call,all", fields)

    @staticmethod
    def _reply_to(pending: _Originate, response: str, message: str) -> Fields:
        fields: Fields = [("Response", response)]
        if pending.action_id:
            fields.append(("ActionID", pending.action_id))
        return [*fields, ("Message", message)]

    # -- call progress ----------------------------------------------------------------------------

    async def _answer(self, channel: Channel) -> None:
        if channel.state == UP or channel.uniqueid not in self.channels:
            return
        partner = channel.partner
        if partner is not None and partner.state != UP:  # the dialplan's half answers first
            partner.state, partner.answered = UP, time.time()
            await self._channel_event("Newstate", partner)
        channel.state = UP
        channel.answered = time.time()
        await self._channel_event("Newstate", channel)
        pending, channel.originate = channel.originate, None
        if pending is not None:
            await self._emit("DialEnd", "call,all", [*channel.snapshot("Dest"), ("DialStatus", "ANSWER")])
            await self._originate_done(pending, channel, REASON_ANSWERED)
            if pending.application:  # the channel runs the application: no bridge (the transcript's call)
                channel.application, channel.application_data = pending.application, pending.data
                return
            # The dialplan dials the number and the far end answers: the phone now sees that number.
            channel.application, channel.application_data = "Dial", pending.exten
            channel.connected_num, channel.connected_name = pending.exten, ""
        channel.bridge_id = str(uuid.uuid4())
        await self._emit("BridgeEnter", "call,all", [*self._bridge(channel), *channel.snapshot()])

    @staticmethod
    def _bridge(channel: Channel) -> Fields:
        """A basic two-party bridge (ast_manager_build_bridge_state_string); the other party is implied."""
        return [
            ("BridgeUniqueid", channel.bridge_id),
            ("BridgeType", "basic"),
            ("BridgeTechnology", "simple_bridge"),
            ("BridgeCreator", "<unknown>"),
            ("BridgeName", "<unknown>"),
            ("BridgeNumChannels", "2"),
            ("BridgeVideoSourceMode", "none"),
        ]

    async def _hangup(
        self, channel: Channel, cause: int, requested_by: str | None = None, reason: int = REASON_HANGUP
    ) -> None:
        """The channel hangs up (HangupRequest/SoftHangupRequest first when asked to) and is gone."""
        if self.channels.get(channel.uniqueid) is not channel:
            return
        if requested_by is not None:
            await self._channel_event(requested_by, channel, [("Cause", str(cause))])
        if channel.bridge_id:
            await self._emit("BridgeLeave", "call,all", [*self._bridge(channel), *channel.snapshot()])
        del self.channels[channel.uniqueid]
        self._close_recording(channel)
        await self._channel_event(
            "Hangup", channel, [("Cause", str(cause)), ("Cause-txt", CAUSE_TEXT.get(cause, "Unknown"))]
        )
        pending, channel.originate = channel.originate, None
        if pending is not None:  # never answered: the Originate failed
            await self._originate_done(pending, None, reason)
        if channel.partner is not None:  # a Local channel's halves go together
            await self._hangup(channel.partner, cause)

    async def _hangup_action(self, client: _Client, action: _Action) -> bool:
        name = action.get("Channel")
        if not name:
            await self._error(client, action, NO_CHANNEL_SPECIFIED)
            return True
        channel = self._find(name)
        if channel is None:
            await self._error(client, action, NO_SUCH_CHANNEL)
            return True
        cause_text = action.get("Cause")
        cause = int(cause_text) if cause_text.isdigit() and int(cause_text) <= 127 else 0
        await self._success(client, action, CHANNEL_HUNGUP)
        await self._hangup(channel, cause or NORMAL_CLEARING, requested_by="SoftHangupRequest")
        return True

    # -- recording --------------------------------------------------------------------------------

    async def _channel_for(self, client: _Client, action: _Action) -> Channel | None:
        """The action's Channel, or the error reply Asterisk sends when there is none."""
        name = action.get("Channel")
        channel = self._find(name) if name else None
        if channel is None:
            await self._error(client, action, NO_SUCH_CHANNEL if name else NO_CHANNEL_SPECIFIED)
        return channel

    async def _mixmonitor(self, client: _Client, action: _Action) -> bool:
        channel = await self._channel_for(client, action)
        if channel is None:
            return True
        path = action.get("File")
        if not path:  # MixMonitor needs a file name
            await self._error(client, action, MIXMONITOR_START_FAILED)
            return True
        channel.recording = path
        channel.recordings.append(path)
        await self._success(client, action)  # 22.x: no Message, no MixMonitorID (without the i() option)
        # The monitor thread opens the file as it starts (mixmonitor_save_prep); failing, it logs.
        channel.recording_since = time.monotonic() if self._open_recording(Path(path)) else None
        await self._emit(
            "VarSet",
            "dialplan,all",
            [*channel.snapshot(), ("Variable", "MIXMONITOR_FILENAME"), ("Value", path)],
        )
        await self._channel_event("MixMonitorStart", channel)
        return True

    def _open_recording(self, path: Path) -> bool:
        """Create the file as Asterisk does (its directory made first, ast_mkdir), unless the
        Asterisk user may not write there: then only the log says so."""
        if any(parent in self.unwritable for parent in path.resolve().parents):
            self.log.append(f"ERROR[app_mixmonitor.c] Cannot open {path.with_suffix('')}{path.suffix}")
            return False
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(_wav(0))
        except OSError as exc:
            self.log.append(f"ERROR[app_mixmonitor.c] Cannot open {path}: {exc}")
            return False
        return True

    @staticmethod
    def _close_recording(channel: Channel) -> None:
        """The monitor ends (StopMixMonitor or hang-up): the file holds every second since it
        opened, muted spans as silence (MixMonitorMute silences, it does not cut)."""
        path = Path(channel.recording or "")
        # Asterisk writes through the descriptor it opened: a file removed meanwhile stays gone.
        if channel.recording is not None and channel.recording_since is not None and path.is_file():
            samples = int((time.monotonic() - channel.recording_since) * _RATE)
            path.write_bytes(_wav(samples))
        channel.recording, channel.recording_since = None, None

    async def _stop_mixmonitor(self, client: _Client, action: _Action) -> bool:
        channel = await self._channel_for(client, action)
        if channel is None:
            return True
        if channel.recording is None:
            await self._error(client, action, MIXMONITOR_STOP_FAILED)
            return True
        self._close_recording(channel)
        channel.muted.clear()
        await self._success(client, action)
        await self._channel_event("MixMonitorStop", channel)
        return True

    async def _mixmonitor_mute(self, client: _Client, action: _Action) -> bool:
        # The checks in Asterisk's order: direction, channel, state, then the channel itself.
        direction = action.get("Direction")
        if not direction:
            await self._error(client, action, MUTE_NO_DIRECTION)
            return True
        sides = {"read": {"read"}, "write": {"write"}, "both": {"read", "write"}}.get(direction.lower())
        if sides is None:
            await self._error(client, action, MUTE_BAD_DIRECTION)
            return True
        if not action.get("Channel"):
            await self._error(client, action, NO_CHANNEL_SPECIFIED)
            return True
        state = action.get("State")
        if not state:
            await self._error(client, action, MUTE_NO_STATE)
            return True
        channel = await self._channel_for(client, action)
        if channel is None:
            return True
        if channel.recording is None:  # no MixMonitor audiohook to flag
            await self._error(client, action, MUTE_FAILED)
            return True
        mute = not _is_false(state)
        channel.muted = channel.muted | sides if mute else channel.muted - sides
        await self._success(client, action)
        await self._channel_event(
            "MixMonitorMute", channel, [("Direction", direction), ("State", "1" if mute else "0")]
        )
        return True

    # -- listing ----------------------------------------------------------------------------------

    async def _core_show_channels(self, client: _Client, action: _Action) -> bool:
        action_id: Fields = [("ActionID", action.get("ActionID"))] if action.get("ActionID") else []
        await client.send(self._response(action, "Success", CHANNELS_FOLLOW, extra=[("EventList", "start")]))
        listed = list(self.channels.values())
        for channel in listed:
            seconds = int(time.monotonic() - channel.created)
            duration = f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
            await client.send(
                [
                    ("Event", "CoreShowChannel"),
                    *action_id,
                    *channel.snapshot(),
                    ("Application", channel.application),
                    ("ApplicationData", channel.application_data),
                    ("Duration", duration),
                    ("BridgeId", channel.bridge_id),
                ]
            )
        await client.send(
            [
                ("Event", "CoreShowChannelsComplete"),
                *action_id,
                ("EventList", "Complete"),
                ("ListItems", str(len(listed))),
            ]
        )
        return True

    async def _getvar(self, client: _Client, action: _Action) -> bool:
        """A channel's variable or function; here only what tests read: CDR(answer,u), the answer
        time as epoch seconds (0.000000 while unanswered), as func_cdr's `u` option gives it."""
        variable = action.get("Variable")
        if not variable:
            await self._error(client, action, "No variable specified")
            return True
        channel = self._find(action.get("Channel")) if action.get("Channel") else None
        if action.get("Channel") and channel is None:
            await self._error(client, action, NO_SUCH_CHANNEL)
            return True
        value = ""
        if channel is not None and variable.replace(" ", "").lower() == "cdr(answer,u)":
            value = f"{channel.answered or 0:.6f}"
        elif channel is not None:
            value = channel.variables.get(variable, "")
        await client.send(self._response(action, "Success", extra=[("Variable", variable), ("Value", value)]))
        return True

    # -- PJSIP NOTIFY -----------------------------------------------------------------------------

    def _endpoint_channels(self, endpoint: str) -> list[Channel]:
        return [c for c in self.channels.values() if c.name.lower().startswith(f"pjsip/{endpoint.lower()}-")]

    async def _pjsip_notify(self, client: _Client, action: _Action) -> bool:
        """To an endpoint (URI and Channel targets are refused here: nothing in these tests uses
        them). A phone told `Event: talk` answers its ringing call, as Yealink and Snom do."""
        endpoint, variables, option = action.get("Endpoint"), action.all("Variable"), action.get("Option")
        targets = [value for value in (endpoint, action.get("URI"), action.get("Channel")) if value]
        if option and variables:
            await self._error(client, action, NOTIFY_OPTION_AND_VARIABLE)
        elif not targets:
            await self._error(client, action, NOTIFY_NO_TARGET)
        elif len(targets) > 1:
            await self._error(client, action, NOTIFY_TWO_TARGETS)
        elif not endpoint or (endpoint not in self.endpoints and not self._endpoint_channels(endpoint)):
            await self._error(client, action, NOTIFY_NO_ENDPOINT.format(endpoint=targets[0]))
        elif not option and not variables:
            await self._error(client, action, NOTIFY_NO_CONTENT)
        else:
            self.notifies.append((endpoint, variables))
            await self._success(client, action, NOTIFY_SENT)
            talk = any(v.replace(" ", "").lower() == "event=talk" for v in _split_args(",".join(variables)))
            ringing = [c for c in self._endpoint_channels(endpoint) if c.state in (RING, RINGING)]
            if talk and self.answer_on_talk and ringing:  # the phone answers one call: its first
                await self._answer(ringing[0])
        return True
