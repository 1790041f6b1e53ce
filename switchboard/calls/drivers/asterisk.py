"""The Asterisk driver: an asyncio Asterisk Manager Interface (AMI) client.

One TCP connection, logged in with events on. Replies are matched to actions by ActionID; a
block with an `Event:` line is an event even when it carries an ActionID and a `Response:`
(OriginateResponse does). Channels are followed from their events and mapped to call updates
on the extension their name carries (`PJSIP/410-0000002a` -> 410). When the connection drops
the driver reconnects with backoff; meanwhile `available` is False and every action raises
PbxUnavailable (the API answers 503).

An action Asterisk took and did not answer in time (a frozen Asterisk queues what it reads) raises
PbxTimedOut (504); its ActionID is kept, and its late answer is acted on: a dial's channel is hung
up, a recording's monitor stopped, a stop or pause recorded (`late`). Until that answer comes, the
call takes no other recording request (503), so two monitors never share a file.

Every worker's session hears every event, its colleagues' OriginateResponses included: ActionIDs
and the unique ids of dials carry this process's randomness so that none is taken for another's.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import re
import secrets
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from switchboard.calls.drivers.base import (
    CallUpdate,
    Driver,
    LateSuccess,
    LiveCall,
    OriginateFailed,
    Origination,
    PbxRefused,
    PbxTimedOut,
    PbxUnavailable,
    RecordingFailed,
    SipHeader,
    extension_of_channel,
    is_local_far_half,
    new_unique_id,
)
from switchboard.calls.models import ENDED_STATES

log = logging.getLogger(__name__)
Message = dict[str, str]
ACTION_TIMEOUT = 5.0
BACKOFF = (0.2, 0.5, 1.0, 2.0, 5.0, 10.0)

# Channel states as Asterisk names them (ChannelStateDesc) -> call states.
_STATES = {"Ring": "Ringing", "Ringing": "Ringing", "Up": "Connected", "Busy": "Busy"}
# DialEnd's DialStatus (app_dial's DIALSTATUS) -> call states. CONTINUE and GOTO send the call on
# through the dialplan: not an outcome, so not here.
_DIAL_END = {
    "ANSWER": "Connected",
    "BUSY": "Busy",
    "NOANSWER": "No Answer",
    "CANCEL": "No Answer",  # the caller gave up while it rang
    "CONGESTION": "Congestion",
    "CHANUNAVAIL": "Failed",  # no such phone, or not registered
    "ABORT": "Failed",
}
# A failed OriginateResponse's Reason: the last control frame the channel saw (frame.h
# AST_CONTROL_*), as app_originate reads it into ORIGINATE_STATUS; 0 when no channel could be
# made at all (an unregistered phone, a ChannelId in use). Anything else failed too.
_ORIGINATE_REASONS = {
    "0": "Failed",
    "1": "No Answer",  # HANGUP: the phone ended it before answering
    "2": "No Answer",  # RING
    "3": "No Answer",  # RINGING: rang until the timeout
    "5": "Busy",
    "8": "Congestion",
}
# A Hangup's Cause (Q.850) for a call never answered, as ast_hangup_cause_to_dial_status reads
# it; other causes (16 normal clearing, ...) end it as Hungup.
_HANGUP_CAUSES = {
    "17": "Busy",  # user busy
    "18": "No Answer",  # no user responding
    "19": "No Answer",  # user alerting, no answer
    "34": "Congestion",  # no circuit/channel available
    "42": "Congestion",  # switching equipment congestion
    "1": "Failed",  # unallocated number
    "3": "Failed",  # no route to destination
    "20": "Failed",  # subscriber absent (not registered)
    "27": "Failed",  # destination out of order
}
# How long a dial waits, after Asterisk queued its Originate, for the channel to exist or for
# Asterisk to say it could not make one (it tries at once: milliseconds).
CHANNEL_WAIT = 2.0
# How long a recording's start waits for Asterisk's MixMonitorStart and then for the file: the
# MixMonitor action answers Success before its thread opens the file (milliseconds later), and a
# file Asterisk cannot open shows only in Asterisk's log and in the file's absence.
RECORDING_WAIT = 2.0
HANGUP_WAIT = 1.0  # for the Hangup event after Asterisk answered the Hangup action


def parse_block(block: bytes) -> Message:
    message: Message = {}
    for line in block.decode("utf-8", "replace").split("\r\n"):
        key, sep, value = line.partition(":")
        if sep:
            message.setdefault(key.strip(), value.strip())
    return message


def format_action(fields: dict[str, str]) -> bytes:
    return "".join(f"{key}: {value}\r\n" for key, value in fields.items()).encode() + b"\r\n"


@dataclass
class _Channel:
    unique_id: str
    name: str
    extension: str
    direction: str
    other_party: str = ""
    caller_id: str = ""
    state: str = ""


@dataclass
class _Dial:
    """An Originate of ours: the call it is to become, until Asterisk says how it went."""

    unique_id: str
    extension: str
    number: str
    # Resolved when the channel exists (None) or when Asterisk failed to make one (the state).
    made: asyncio.Future[str | None]
    waited: bool = False  # originate() stopped waiting for `made` and returned the id
    # Asterisk did not answer the Originate in time and the client was told 503: should Asterisk
    # run it after all (a frozen Asterisk runs what it queued), the call is hung up at once.
    abandoned: bool = False


class AsteriskAmi(Driver):
    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        secret: str,
        channel_template: str = "PJSIP/{extension}",
        context: str = "from-internal",
        recordings_shared: bool = True,
    ) -> None:
        self.host, self.port = host, port
        self.recording_files_visible = recordings_shared
        self._username, self._secret = username, secret
        self.channel_template, self.context = channel_template, context
        self._writer: asyncio.StreamWriter | None = None
        self._logged_in = False
        # ActionID -> the reply to come, with the events of a list reply (CoreShowChannels).
        self._pending: dict[str, asyncio.Future[tuple[Message, list[Message]]]] = {}
        self._lists: dict[str, tuple[Message, list[Message]]] = {}  # lists in progress
        # ActionID -> what to do with the reply to an action already answered 504, when it comes.
        self._late: dict[str, Callable[[Message], None]] = {}
        # Unique ids whose last recording action is answered 504 and not yet by Asterisk.
        self._unsettled: set[str] = set()
        self._ids = itertools.count(1)
        self._action_prefix = f"sb-{secrets.token_hex(4)}-"  # this process's, among every worker's
        self._channels: dict[str, _Channel] = {}
        self._ours: dict[str, _Dial] = {}  # unique ids we originated (outbound), until they hang up
        self._dials: dict[str, _Dial] = {}  # by the Originate's ActionID, until its OriginateResponse
        self._undoing: set[asyncio.Task[None]] = set()
        # Unique id -> a MixMonitor start waiting for Asterisk's MixMonitorStart on that channel.
        self._monitors: dict[str, asyncio.Future[None]] = {}
        # Unique id -> a hang-up of ours waiting for the channel's Hangup event.
        self._hangups: dict[str, asyncio.Future[None]] = {}
        self._updates: asyncio.Queue[CallUpdate] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._write_lock = asyncio.Lock()
        self.connected = asyncio.Event()  # set while logged in (tests wait on it)

    @property
    def available(self) -> bool:
        return self._logged_in

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="ami")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._disconnect()

    # -- connection -------------------------------------------------------------------------------

    async def _run(self) -> None:
        """Connect, log in, read until the connection drops; again, with backoff."""
        failures = 0
        while True:
            try:
                reader, writer = await asyncio.open_connection(self.host, self.port)
                self._writer = writer
                banner = await asyncio.wait_for(reader.readline(), ACTION_TIMEOUT)
                if not banner.startswith(b"Asterisk Call Manager"):
                    raise ConnectionError(f"not an AMI server: {banner[:40]!r}")
                reading = asyncio.get_running_loop().create_task(self._read(reader))
                try:
                    await self._login()
                    failures = 0
                    log.info("AMI connected to %s:%d", self.host, self.port)
                    await reading  # until the connection ends
                finally:
                    reading.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await reading
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # refused, dropped, login refused: try again later
                log.warning("AMI %s:%d unavailable: %s", self.host, self.port, exc or type(exc).__name__)
            await self._disconnect()
            delay = BACKOFF[min(failures, len(BACKOFF) - 1)]
            failures += 1
            await asyncio.sleep(delay)

    async def _login(self) -> None:
        reply, _ = await self._send(
            {"Action": "Login", "Username": self._username, "Secret": self._secret, "Events": "on"},
            login=True,
        )
        if reply.get("Response") != "Success":
            raise ConnectionError(f"AMI login refused: {reply.get('Message', '')}")
        self._logged_in = True
        self.connected.set()
        self._connected()

    async def _disconnect(self) -> None:
        self._logged_in = False
        self.connected.clear()
        for future in self._pending.values():
            if not future.done():
                future.set_exception(PbxUnavailable())
        self._pending.clear()
        self._lists.clear()
        # Their answers are lost with the connection; the channels they touched are listed anew.
        self._late.clear()
        self._unsettled.clear()
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()
            self._writer = None
        # Calls may have ended while we were away: forget channels; events will tell us anew.
        self._channels.clear()

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while True:
            try:
                block = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                return  # the server closed the connection
            self._dispatch(parse_block(block[:-4]))

    def _dispatch(self, message: Message) -> None:
        action_id = message.get("ActionID", "")
        if "Event" in message:  # first: OriginateResponse is an event with an ActionID
            if action_id in self._lists:
                reply, events = self._lists[action_id]
                if message.get("EventList") != "Complete":
                    events.append(message)
                    return
                del self._lists[action_id]
                self._resolve(action_id, (reply, events))
                return
            self._on_event(message)
            return
        if message.get("EventList") == "start" and action_id in self._pending:
            self._lists[action_id] = (message, [])  # the list follows as events, then "Complete"
            return
        self._resolve(action_id, (message, []))

    def _resolve(self, action_id: str, result: tuple[Message, list[Message]]) -> None:
        future = self._pending.pop(action_id, None)
        if future is not None and not future.done():
            future.set_result(result)
            return
        late = self._late.pop(action_id, None)
        if late is not None:
            late(result[0])

    def _new_action_id(self) -> str:
        return f"{self._action_prefix}{next(self._ids)}"

    async def _send(
        self,
        fields: dict[str, str],
        login: bool = False,
        action_id: str = "",
        late: Callable[[Message], None] | None = None,
    ) -> tuple[Message, list[Message]]:
        """The action's reply (and a list reply's events). Unanswered in ACTION_TIMEOUT: PbxTimedOut,
        and `late` gets the reply should it come."""
        if self._writer is None or (not login and not self._logged_in):
            raise PbxUnavailable()
        action_id = action_id or self._new_action_id()
        future: asyncio.Future[tuple[Message, list[Message]]] = asyncio.get_running_loop().create_future()
        self._pending[action_id] = future
        async with self._write_lock:
            self._writer.write(format_action({"Action": fields["Action"], "ActionID": action_id, **fields}))
            await self._writer.drain()
        try:
            return await asyncio.wait_for(future, ACTION_TIMEOUT)
        except TimeoutError:
            if late is not None:
                self._late[action_id] = late
            raise PbxTimedOut(
                f"The PBX did not answer the {fields['Action']} request in {ACTION_TIMEOUT:g} s. If it "
                "does it later, a call or recording it starts is ended at once and a stop, pause or "
                "hang-up is recorded; retrying is safe (docs/api.md: when the PBX does not answer)."
            ) from None
        finally:  # answered, timed out, or the caller gave up first (readyz's deadline)
            self._pending.pop(action_id, None)

    async def _action(
        self, fields: dict[str, str], action_id: str = "", late: Callable[[Message], None] | None = None
    ) -> list[Message]:
        """The action's reply must be Success (else PbxRefused); returns a list reply's events."""
        reply, events = await self._send(fields, action_id=action_id, late=late)
        if reply.get("Response") != "Success":
            raise PbxRefused(f"the PBX refused {fields['Action']}: {reply.get('Message', 'no reason given')}")
        return events

    # -- events -> call updates -------------------------------------------------------------------

    def _on_event(self, event: Message) -> None:
        kind = event.get("Event", "")
        unique_id = event.get("Uniqueid", "")
        if kind == "Newchannel":
            extension = extension_of_channel(event.get("Channel", ""))
            if extension is None or is_local_far_half(event.get("Channel", "")):
                return
            dialled = self._ours.get(unique_id)
            if dialled is not None and dialled.abandoned:
                self._undo(self._ours.pop(unique_id), event.get("Channel", ""))
                return
            if dialled is not None and not dialled.made.done():
                dialled.made.set_result(None)  # the dial's channel exists
            new = _Channel(
                unique_id,
                event.get("Channel", ""),
                extension,
                "inbound" if dialled is None else "outbound",
                other_party=_known(event.get("CallerIDNum")) if dialled is None else dialled.number,
                caller_id=_known(event.get("CallerIDNum")),
            )
            self._channels[unique_id] = new
            self._emit(new, "Ringing" if dialled is None else "Dialing Out")
            return
        if kind == "OriginateResponse":
            self._originate_response(event)
            return
        if kind == "MixMonitorStart":
            started = self._monitors.get(unique_id)
            if started is not None and not started.done():
                started.set_result(None)
            return
        if kind == "DialEnd":
            state = _DIAL_END.get(event.get("DialStatus", ""))
            # Dial() names the caller (Uniqueid) and the dialled (DestUniqueid); an Originate's
            # DialEnd only the dialled: the agent's phone it rang.
            for key in ("DestUniqueid", "Uniqueid"):
                dialled_or_caller = self._channels.get(event.get(key, ""))
                if state and dialled_or_caller is not None and dialled_or_caller.state not in ENDED_STATES:
                    self._emit(dialled_or_caller, state)
            return
        channel = self._channels.get(unique_id)
        if channel is None:
            return
        if kind == "Newstate":
            state = _STATES.get(event.get("ChannelStateDesc", ""))
            if state:
                self._emit(channel, state)
        elif kind == "BridgeEnter":
            self._emit(channel, "Connected")
        elif kind == "Hangup":
            hung_up = self._hangups.get(unique_id)
            if hung_up is not None and not hung_up.done():
                hung_up.set_result(None)
            self._channels.pop(unique_id, None)
            self._ours.pop(unique_id, None)
            if channel.state in ENDED_STATES:  # a DialEnd said how it ended
                return
            never_answered = channel.state != "Connected"
            cause = _HANGUP_CAUSES.get(event.get("Cause", "")) if never_answered else None
            self._emit(channel, cause or "Hungup")

    def _undo(self, dial: _Dial, channel: str) -> None:
        """Hang up the channel of a dial the client was told failed (504): it never becomes a call."""

        async def hang_up() -> None:
            try:
                await self._action({"Action": "Hangup", "Channel": channel, "Cause": "16"})
            except Exception as exc:
                log.warning("late call %s of a timed-out dial not hung up: %s", dial.unique_id, exc)
            else:
                log.warning("late call %s of a timed-out dial hung up", dial.unique_id)

        self._in_background(hang_up())

    def _originate_response(self, event: Message) -> None:
        """How one of our Originates ended (matched by ActionID: every session hears them all).
        A failure with a channel was told by its DialEnd and Hangup; one before any channel
        existed ends the dial here, and it must never touch a live call with the same id."""
        dial = self._dials.pop(event.get("ActionID", ""), None)
        if dial is None or event.get("Response") != "Failure":
            return
        state = _ORIGINATE_REASONS.get(event.get("Reason", ""), "Failed")
        if not dial.made.done():
            self._ours.pop(dial.unique_id, None)
            dial.made.set_result(state)  # while originate() waits, it reports the failure itself
            # Otherwise the dial is recorded "Dialing Out": end it, unless a live call we know has
            # its id (Asterisk refused the id, which says nothing about that call).
            if dial.waited and dial.unique_id not in self._channels:
                self._updates.put_nowait(
                    CallUpdate(dial.unique_id, dial.extension, state, "outbound", dial.number)
                )
            return
        if dial.made.result() is None:  # its channel existed: its own events ended it
            channel = self._channels.get(dial.unique_id)
            if channel is not None and channel.direction == "outbound":
                self._emit(channel, state)
            return

    def _emit(self, channel: _Channel, state: str) -> None:
        if channel.state == state:
            return
        channel.state = state
        self._report(channel, datetime.now(UTC))

    def _report(self, channel: _Channel, at: datetime, started: datetime | None = None) -> None:
        """The channel's state now as a call update: as of `at`, the call begun at `started`."""
        self._updates.put_nowait(
            CallUpdate(
                channel.unique_id,
                channel.extension,
                channel.state,
                channel.direction,
                channel.other_party,
                channel.caller_id,
                at=at,
                started=started,
            )
        )

    def pending(self) -> int:
        return self._updates.qsize()

    async def updates(self) -> AsyncIterator[CallUpdate]:
        while True:
            yield await self._updates.get()

    # -- actions ----------------------------------------------------------------------------------

    def _channel(self, unique_id: str) -> str:
        channel = self._channels.get(unique_id)
        if channel is None:
            raise PbxRefused(f"call {unique_id} is not live on the PBX")
        return channel.name

    def _draw_unique_id(self) -> str:
        """A dial's unique id; never one a live channel we know of has (Asterisk would refuse it)."""
        while (unique_id := new_unique_id()) in self._channels or unique_id in self._ours:
            pass
        return unique_id

    async def originate(self, call: Origination) -> str:
        unique_id = self._draw_unique_id()
        action_id = self._new_action_id()
        dial = _Dial(unique_id, call.extension, call.number, asyncio.get_running_loop().create_future())
        self._ours[unique_id] = self._dials[action_id] = dial
        channel = self.channel_template.format(extension=call.extension)
        fields = {
            "Action": "Originate",
            "Channel": channel,
            "Exten": call.number,
            "Context": self.context,
            "Priority": "1",
            "Async": "true",
            "Timeout": "30000",
            "ChannelId": unique_id,  # the new channel's Uniqueid: its events name the call
        }
        if call.caller_id or call.caller_name:  # the name is what the agent's phone shows (phoneCaption)
            name = _CALLER_NAME_UNSAFE.sub("", call.caller_name)[:80]
            fields["CallerID"] = f'"{name}" <{call.caller_id}>' if name else call.caller_id
        answer_header = call.answer_header
        if call.auto_answer and answer_header is None:  # the phone answers by itself
            answer_header = SipHeader("Call-Info", "answer-after=0")
        if answer_header is not None:
            variable = _header_variable(channel, answer_header)
            if variable is None:
                log.warning(
                    "auto-answer header %s not sent: %s channels take no SIP headers",
                    answer_header.name,
                    channel,
                )
            else:
                fields["Variable"] = variable
        try:
            await self._action(fields, action_id)
        except PbxUnavailable:
            # Sent, unanswered: Asterisk may run it yet. Its channel is hung up when it appears.
            dial.abandoned = True
            raise
        except Exception:
            self._ours.pop(unique_id, None)
            self._dials.pop(action_id, None)
            raise
        # Queued. Asterisk makes the channel at once, or says at once that it cannot (Reason 0):
        # wait for which, so that a dial that failed before any channel existed is reported as
        # such, under its own id, and never left "Dialing Out".
        try:
            failed = await asyncio.wait_for(asyncio.shield(dial.made), CHANNEL_WAIT)
        except TimeoutError:
            dial.waited = True  # its events (and OriginateResponse) will say how it went
            return unique_id
        if failed is not None:
            raise OriginateFailed(unique_id, failed)
        return unique_id

    async def answer(self, unique_id: str) -> None:
        """Ask the phone to answer: a NOTIFY with the `talk` event (PJSIP phones that honour it)."""
        channel = self._channels.get(unique_id)
        if channel is None:
            raise PbxRefused(f"call {unique_id} is not live on the PBX")
        if channel.name.partition("/")[0].upper() != "PJSIP":
            raise PbxRefused(f"call {unique_id}: this phone cannot be answered remotely (not a PJSIP phone)")
        try:
            await self._action(
                {"Action": "PJSIPNotify", "Endpoint": channel.extension, "Variable": "Event=talk"}
            )
        except PbxRefused as refused:
            raise PbxRefused(
                f"call {unique_id}: this phone cannot be answered remotely ({refused.detail})"
            ) from None

    @property
    def address(self) -> str:
        return self.host

    async def ping(self) -> float:
        """An AMI Ping's round trip: what the link costs every action now."""
        started = time.perf_counter()
        await self._action({"Action": "Ping"})
        return (time.perf_counter() - started) * 1000

    async def hangup(self, unique_id: str) -> None:
        """Hangup, then (briefly) its Hangup event: on return, the call's end is an update
        produced, so the caller can answer with the state after the hang-up."""
        channel = self._channel(unique_id)
        hung_up: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._hangups[unique_id] = hung_up
        try:
            await self._action({"Action": "Hangup", "Channel": channel, "Cause": "16"})
            with contextlib.suppress(TimeoutError):  # Asterisk sends it at once (the transcript)
                await asyncio.wait_for(asyncio.shield(hung_up), HANGUP_WAIT)
        finally:
            if self._hangups.get(unique_id) is hung_up:
                del self._hangups[unique_id]

    async def record_start(self, unique_id: str, path: str) -> None:
        """MixMonitor, then Asterisk's own word that it started and the file it opened; without
        either the monitor is stopped (it would record nothing) and RecordingFailed raised."""
        channel = self._recording_channel(unique_id)
        started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._monitors[unique_id] = started

        def undo(reply: Message) -> None:  # the client was told 504: no recording runs
            if reply.get("Response") != "Success":
                self._unsettled.discard(unique_id)
                return
            log.warning("late recording of call %s (its start was answered 504) stopped", unique_id)
            self._in_background(self._settle(unique_id, {"Action": "StopMixMonitor", "Channel": channel}))

        try:
            await self._recording_action(
                unique_id, {"Action": "MixMonitor", "Channel": channel, "File": path}, undo
            )
            problem = await _recording_problem(started, Path(path) if self.recording_files_visible else None)
        finally:
            if self._monitors.get(unique_id) is started:
                del self._monitors[unique_id]
        if problem is not None:
            with contextlib.suppress(Exception):
                await self._action({"Action": "StopMixMonitor", "Channel": channel})
            log.warning("recording of call %s failed: %s", unique_id, problem)
            raise RecordingFailed(unique_id, problem)

    async def record_stop(self, unique_id: str, late: LateSuccess | None = None) -> None:
        channel = self._recording_channel(unique_id)
        await self._recording_action(
            unique_id, {"Action": "StopMixMonitor", "Channel": channel}, self._recorder(unique_id, late)
        )

    async def record_pause(self, unique_id: str, paused: bool, late: LateSuccess | None = None) -> None:
        fields = {
            "Action": "MixMonitorMute",
            "Channel": self._recording_channel(unique_id),
            "Direction": "both",
            "State": "1" if paused else "0",
        }
        await self._recording_action(unique_id, fields, self._recorder(unique_id, late))

    def _recording_channel(self, unique_id: str) -> str:
        """The call's channel, unless a recording action on it still awaits Asterisk's answer."""
        if unique_id in self._unsettled:
            raise PbxUnavailable(
                f"call {unique_id}: the PBX has not yet answered the last recording request on this "
                "call (it timed out); try again shortly"
            )
        return self._channel(unique_id)

    async def _recording_action(
        self, unique_id: str, fields: dict[str, str], late: Callable[[Message], None]
    ) -> None:
        try:
            await self._action(fields, late=late)
        except PbxTimedOut:
            self._unsettled.add(unique_id)
            raise

    def _recorder(self, unique_id: str, late: LateSuccess | None) -> Callable[[Message], None]:
        """What a late answer to a stop or pause does: settles the call, and on Success has the
        change recorded (`late`)."""

        def settled(reply: Message) -> None:
            self._unsettled.discard(unique_id)
            if reply.get("Response") == "Success" and late is not None:
                late()

        return settled

    async def _settle(self, unique_id: str, fields: dict[str, str]) -> None:
        """Undo a late action, then take the call's recording requests again."""
        try:
            await self._action(fields)
        except Exception as exc:
            log.warning("undoing a late %s on call %s failed: %s", fields["Action"], unique_id, exc)
        finally:
            self._unsettled.discard(unique_id)

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._undoing.add(task)
        task.add_done_callback(self._undoing.discard)

    async def live_calls(self) -> list[LiveCall]:
        """The PBX's channels on extensions. Channels not followed yet (calls that began while the
        link or Switchboard was down) are followed from here on and reported at once as calls,
        with the PBX's start (CoreShowChannel's Duration) and, once answered, its answer time
        (the channel's CDR); so control by extension works on them and they end with true times."""
        listed_at = datetime.now(UTC)
        listed, found = [], []
        for event in await self._action({"Action": "CoreShowChannels"}):
            unique_id, name = event.get("Uniqueid", ""), event.get("Channel", "")
            extension = extension_of_channel(name)
            if extension is None or not unique_id or is_local_far_half(name):
                continue
            channel = self._channels.get(unique_id)
            if channel is None:
                dialled = self._ours.get(unique_id)
                if dialled is not None and dialled.abandoned:  # ran while the link was down: a 504
                    self._undo(dialled, name)
                    continue
                channel = self._channels[unique_id] = _Channel(
                    unique_id,
                    name,
                    extension,
                    "inbound" if dialled is None else "outbound",
                    other_party=dialled.number if dialled else _known(event.get("ConnectedLineNum")),
                    caller_id=_known(event.get("CallerIDNum")),
                    state=_STATES.get(event.get("ChannelStateDesc", ""), "Ringing"),
                )
                found.append((channel, listed_at - _duration(event.get("Duration", ""))))
            listed.append(channel)
        for channel, started in found:
            at = listed_at
            if channel.state == "Connected":
                # Answered, and the PBX does not say when: its start is the nearest it says.
                answered = await self._answered_at(channel) or started
                at, started = answered, min(started, answered)  # Duration counts whole seconds
                if self._channels.get(channel.unique_id) is not channel:
                    continue  # it hung up meanwhile: its Hangup reported it
            self._report(channel, at, started)
        return [LiveCall(c.unique_id, c.extension, c.state, c.direction, c.other_party) for c in listed]

    async def _answered_at(self, channel: _Channel) -> datetime | None:
        """When the PBX answered the channel: its CDR's answer time (epoch with `u`); None when
        the PBX does not say (CDRs disabled, the channel gone meanwhile)."""
        try:
            reply, _ = await self._send(
                {"Action": "Getvar", "Channel": channel.name, "Variable": "CDR(answer,u)"}
            )
            epoch = float(reply.get("Value") or 0)
        except (PbxUnavailable, ValueError):
            return None
        return datetime.fromtimestamp(epoch, UTC) if epoch > 0 else None


# Quotes and angle brackets would end the CallerID's name; line breaks would end the AMI action.
_CALLER_NAME_UNSAFE = re.compile(r'["<>\\\r\n]')
# A value inside Variable: Asterisk splits at commas and drops quotes and backslashes unescaped.
_VARIABLE_SPECIAL = re.compile(r'([\\,"])')


def _header_variable(channel: str, header: SipHeader) -> str | None:
    """The Originate Variable adding `header` to the channel's INVITE; None if its tech has none."""
    tech = channel.partition("/")[0].upper()
    value = _VARIABLE_SPECIAL.sub(r"\\\1", header.value)
    if tech == "PJSIP":
        return f"PJSIP_HEADER(add,{header.name})={value}"
    if tech == "SIP":  # chan_sip
        return f"SIPADDHEADER01={header.name}: {value}"
    return None


def _duration(text: str) -> timedelta:
    """CoreShowChannel's Duration, HH:MM:SS since the channel was made (0 if unreadable)."""
    try:
        hours, minutes, seconds = (int(part) for part in text.split(":"))
    except ValueError:
        return timedelta(0)
    return timedelta(hours=hours, minutes=minutes, seconds=seconds)


async def _recording_problem(started: asyncio.Future[None], path: Path | None) -> str | None:
    """None once Asterisk announced the monitor (MixMonitorStart) and its file exists (when the
    file is visible here: `path`); else why not."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + RECORDING_WAIT
    try:
        await asyncio.wait_for(asyncio.shield(started), RECORDING_WAIT)
    except TimeoutError:
        return "Asterisk did not announce the recording (no MixMonitorStart)"
    if path is None:
        return None
    # One stat per 20 ms: cheaper than a thread hop. Asterisk's monitor thread opens the file at once.
    while not path.is_file():  # noqa: ASYNC240
        if loop.time() >= deadline:
            return (
                f"Asterisk wrote no file {path.name} in the recordings directory: the Asterisk user "
                "must be able to write there (docs/deploy.md)"
            )
        await asyncio.sleep(0.02)
    return None


def _known(value: str | None) -> str:
    return "" if value in (None, "<unknown>") else str(value)
