"""The simulated PBX: a virtual exchange in the process whose extensions are the directory's.

Calls ring and connect on timers (or on command) and hang up on command or after an optional
duration; inbound calls can be injected. A recording is a real WAV file (8 kHz, 16-bit mono, a
440 Hz tone) written when it stops; paused time is left out of the file, so its length is the
time spent recording. One instance per process: with it, Switchboard serves one worker.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import struct
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from switchboard.calls.drivers.base import (
    CallUpdate,
    Driver,
    LateSuccess,
    LiveCall,
    Origination,
    PbxRefused,
    SipHeader,
)

RATE = 8000
_TONE = b"".join(
    struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * n / RATE))) for n in range(RATE)
)  # one second


@dataclass
class _Recording:
    path: Path
    recorded: float = 0.0  # seconds recorded before the current stretch
    since: float | None = None  # monotonic start of the current stretch; None while paused


@dataclass
class _Call:
    unique_id: str
    extension: str
    direction: str
    other_party: str
    caller_id: str
    state: str
    tenant_pk: int | None = None
    answer_header: SipHeader | None = None  # what a real phone would have been sent
    caller_name: str = ""
    recording: _Recording | None = None
    timers: list[asyncio.Task[None]] = field(default_factory=list)


class SimulatedPbx(Driver):
    def __init__(self, ring_seconds: float, answer_seconds: float, hangup_seconds: float) -> None:
        self.ring_seconds = ring_seconds
        self.answer_seconds = answer_seconds
        self.hangup_seconds = hangup_seconds  # 0: calls last until hung up
        self._calls: dict[str, _Call] = {}
        self._queue: asyncio.Queue[CallUpdate] = asyncio.Queue()
        self._ids = itertools.count(1)
        # Milliseconds, not Asterisk's seconds: a restart within the second must not reuse ids.
        self._epoch = time.time_ns() // 1_000_000
        self._immediate: set[asyncio.Task[None]] = set()
        self.originated: dict[str, _Call] = {}  # every call placed, as the PBX was asked (tests read it)

    @property
    def available(self) -> bool:
        return True

    @property
    def address(self) -> str:
        return "simulated"

    async def ping(self) -> float:
        return 0.0  # the exchange is in this process

    async def start(self) -> None:
        # A new process's virtual exchange has no calls: those the database still holds as live
        # ended with the previous process (reconciled like an AMI reconnection).
        self._connected()

    async def close(self) -> None:
        for call in list(self._calls.values()):
            self._end(call, "Hungup")

    def _new_id(self) -> str:
        return f"{self._epoch}.{next(self._ids)}"

    def _emit(self, call: _Call, state: str) -> None:
        call.state = state
        self._queue.put_nowait(
            CallUpdate(
                call.unique_id,
                call.extension,
                state,
                call.direction,
                call.other_party,
                call.caller_id,
                tenant_pk=call.tenant_pk,
            )
        )

    def _later(self, call: _Call, delay: float, state: str) -> None:
        async def move() -> None:
            await asyncio.sleep(delay)
            if state in ("Hungup",):
                self._end(call, state)
            elif call.unique_id in self._calls:
                self._emit(call, state)
                if state == "Connected" and self.hangup_seconds > 0:
                    self._later(call, self.hangup_seconds, "Hungup")

        task = asyncio.get_running_loop().create_task(move())
        call.timers.append(task)
        if delay == 0:  # counted as pending until it has run: settle() waits for it
            self._immediate.add(task)
            task.add_done_callback(self._immediate.discard)

    def _live(self, unique_id: str) -> _Call:
        call = self._calls.get(unique_id)
        if call is None:
            raise PbxRefused(f"call {unique_id} is not live on the PBX")
        return call

    def _end(self, call: _Call, state: str) -> None:
        if call.recording is not None:
            self._write(call.recording)
            call.recording = None
        for timer in call.timers:
            if timer is not asyncio.current_task():
                timer.cancel()
        self._calls.pop(call.unique_id, None)
        self._emit(call, state)

    async def originate(self, placed: Origination) -> str:
        call = _Call(
            self._new_id(), placed.extension, "outbound", placed.number, placed.caller_id, "Dialing Out"
        )
        call.answer_header, call.caller_name = placed.answer_header, placed.caller_name
        self._calls[call.unique_id] = call
        self.originated[call.unique_id] = call
        if len(self.originated) > 1000:  # a long-running demo keeps the recent ones only
            del self.originated[next(iter(self.originated))]
        self._emit(call, "Dialing Out")
        ring = 0.0 if placed.auto_answer or placed.answer_header is not None else self.ring_seconds
        self._later(call, ring, "Ringing")
        self._later(call, ring + self.answer_seconds, "Connected")
        return call.unique_id

    async def inject(self, extension: str, caller: str, tenant_pk: int | None = None) -> str:
        """An inbound call from `caller` to `extension` of a tenant (switchboard simulate call)."""
        call = _Call(self._new_id(), extension, "inbound", caller, caller, "Ringing", tenant_pk)
        self._calls[call.unique_id] = call
        self._emit(call, "Ringing")
        self._later(call, self.answer_seconds, "Connected")
        return call.unique_id

    async def answer(self, unique_id: str) -> None:
        call = self._live(unique_id)
        if call.state != "Connected":
            for timer in call.timers:  # answered now: the ring timers' own "Connected" is not to come
                timer.cancel()
            call.timers = []
            self._emit(call, "Connected")
            if self.hangup_seconds > 0:
                self._later(call, self.hangup_seconds, "Hungup")

    async def hangup(self, unique_id: str) -> None:
        self._end(self._live(unique_id), "Hungup")

    async def record_start(self, unique_id: str, path: str) -> None:
        call = self._live(unique_id)
        if call.state != "Connected":
            raise PbxRefused(f"call {unique_id} is not connected ({call.state})")
        if call.recording is not None:
            raise PbxRefused(f"call {unique_id} is already being recorded")
        call.recording = _Recording(Path(path), since=time.monotonic())

    async def record_stop(self, unique_id: str, late: LateSuccess | None = None) -> None:  # answers at once
        call = self._live(unique_id)
        if call.recording is None:
            raise PbxRefused(f"call {unique_id} is not being recorded")
        self._write(call.recording)
        call.recording = None

    async def record_pause(self, unique_id: str, paused: bool, late: LateSuccess | None = None) -> None:
        call = self._live(unique_id)
        recording = call.recording
        if recording is None:
            raise PbxRefused(f"call {unique_id} is not being recorded")
        if paused and recording.since is not None:
            recording.recorded += time.monotonic() - recording.since
            recording.since = None
        elif not paused and recording.since is None:
            recording.since = time.monotonic()

    def _write(self, recording: _Recording) -> None:
        seconds = recording.recorded + (time.monotonic() - recording.since if recording.since else 0.0)
        whole, rest = divmod(int(seconds * RATE), RATE)
        data = _TONE * whole + _TONE[: rest * 2]
        recording.path.parent.mkdir(parents=True, exist_ok=True)
        # One write of a canonical PCM WAV: RIFF header, fmt chunk (PCM, mono, 8 kHz, 16-bit), data.
        header = struct.pack(
            "<4sI4s4sIHHIIHH4sI",
            b"RIFF",
            36 + len(data),
            b"WAVE",
            b"fmt ",
            16,
            1,
            1,
            RATE,
            RATE * 2,
            2,
            16,
            b"data",
            len(data),
        )
        recording.path.write_bytes(header + data)

    async def live_calls(self) -> list[LiveCall]:
        return [
            LiveCall(c.unique_id, c.extension, c.state, c.direction, c.other_party)
            for c in self._calls.values()
        ]

    def pending(self) -> int:
        return self._queue.qsize() + len(self._immediate)

    async def updates(self) -> AsyncIterator[CallUpdate]:
        while True:
            yield await self._queue.get()
