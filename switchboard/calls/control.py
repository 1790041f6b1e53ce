"""Call control: check in one transaction, act on the PBX outside any, record in another.

One instance per process, shared by the native and Noojee routes. It also consumes the
driver's call updates into the database (and starts recordings asked for at dial time).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from switchboard.access.policy import scope_params, visibility_key
from switchboard.access.principal import Principal
from switchboard.calls import recordings, service
from switchboard.calls.drivers.base import (
    CallUpdate,
    Driver,
    LateSuccess,
    OriginateFailed,
    Origination,
    PbxUnavailable,
    RecordingFailed,
    SipHeader,
)
from switchboard.calls.models import Call
from switchboard.calls.recordings import LocatedCall, RecordingAction
from switchboard.db.base import utcnow
from switchboard.db.engine import Database
from switchboard.db.failures import is_database_unavailable
from switchboard.errors import BadRequest, Conflict, NotFound
from switchboard.events.log import EVENTS_PENDING

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DialRequest:
    extension: str
    number: str
    caller_id: str | None = None
    auto_answer: bool = False
    record: bool = False
    tag: str = ""
    campaign_id: int | None = None
    tenant_id: str | None = None
    answer_header: SipHeader | None = None  # the SIP header asking the phone to answer by itself
    caller_name: str = ""  # shown on the agent's phone (Noojee's phoneCaption)


class CallControl:
    def __init__(self, db: Database, driver: Driver, recordings_dir: Path) -> None:
        self.db = db
        self.driver = driver
        self.recordings_dir = recordings_dir
        self._consumer: asyncio.Task[None] | None = None
        self._busy = False  # an update taken from the driver is being written
        self._reconciling: set[asyncio.Task[None]] = set()
        driver.on_connected(self._schedule_reconcile)

    def _require_pbx(self) -> None:
        if not self.driver.available:
            raise PbxUnavailable()

    # -- dialling and hanging up ----------------------------------------------------------------

    async def dial(self, principal: Principal, request: DialRequest) -> dict[str, Any]:
        def check() -> service.DialPlan:
            with self.db.transaction() as session:
                return service.plan_dial(
                    session,
                    principal,
                    request.extension,
                    request.number,
                    request.caller_id,
                    request.campaign_id,
                    request.tenant_id,
                )

        plan = await run_in_threadpool(check)
        self._require_pbx()
        ended: str | None = None
        try:
            unique_id = await self.driver.originate(
                Origination(
                    plan.extension,
                    plan.number,
                    plan.caller_id,
                    request.auto_answer,
                    request.answer_header,
                    request.caller_name,
                )
            )
        except OriginateFailed as failed:  # no call was made of it: recorded as ended (Failed, ...)
            unique_id, ended = failed.unique_id, failed.state

        def record() -> dict[str, Any]:
            with self.db.transaction() as session:
                call = service.record_dial(session, plan, unique_id, ended)
                if request.record and ended is None:
                    call.record_on_answer = {"owner": principal.username, "tag": request.tag}
                return service.call_view(session, call)

        try:
            view = await run_in_threadpool(record)
        except Exception:
            # Placed but not recorded (the database went away or is full): end it, so that the error
            # the client gets is the whole truth rather than a call ringing that it was told failed.
            if ended is None:
                with contextlib.suppress(Exception):
                    await self.driver.hangup(unique_id)
            raise
        if request.record and view["state"] == "Connected":  # answered before we wrote the wish
            await self._record_on_answer(unique_id)
        return view

    async def hangup(self, principal: Principal, exten_or_unique_id: str, tenant_id: str | None) -> str:
        call = await self.locate(principal, exten_or_unique_id, tenant_id)
        recordings.require_control(principal, call)
        recordings.require_live(call)
        self._require_pbx()
        await self.driver.hangup(call.unique_id)
        return call.unique_id

    async def answer(
        self, principal: Principal, exten_or_unique_id: str, tenant_id: str | None, phone: str | None = None
    ) -> str:
        """Make the phone of a ringing call answer it: found and checked as for a hang-up. `phone`,
        when named too, must be the call's extension."""
        call = await self.locate(principal, exten_or_unique_id, tenant_id)
        if phone is not None and service.parse_extension(phone, "exten") != call.extension:
            raise NotFound(f"call {call.unique_id} is not on extension {phone}")
        recordings.require_control(principal, call)
        recordings.require_live(call)
        if call.state not in ("Ringing", "Dialing Out"):  # Dialing Out: the agent's phone rings first
            raise Conflict(f"call {call.unique_id} is not ringing ({call.state})")
        self._require_pbx()
        await self.driver.answer(call.unique_id)
        return call.unique_id

    async def locate(
        self, principal: Principal, exten_or_unique_id: str, tenant_id: str | None
    ) -> LocatedCall:
        """The call a request names, if the principal may see it: one indexed read in the loop.
        The global key's bare extensions, a named tenant and every miss take the unit-of-work
        path (service.find_call), which gives the precise error."""
        value = exten_or_unique_id.strip()
        params: dict[str, Any] | None = None
        if service.UNIQUE_ID.match(value):
            params = {"unique_id": value}
        elif tenant_id is None and principal.tenant_pk is not None:
            params = {"tenant_pk": principal.tenant_pk, "extension": service.parse_extension(value)}
        if params is not None:
            row = await self._locate_row(principal, params)
            if row is not None:
                return recordings.located(row)

        def slow() -> str:
            with self.db.transaction() as session:
                return service.find_call(session, principal, value, tenant_id).unique_id

        unique_id = await run_in_threadpool(slow)
        row = await self._locate_row(principal, {"unique_id": unique_id})
        if row is None:  # gone between the two reads: as if it never was
            raise NotFound(f"call {unique_id} not found")
        return recordings.located(row)

    async def _locate_row(self, principal: Principal, params: dict[str, Any]) -> dict[str, Any] | None:
        by_unique_id = "unique_id" in params
        reader = self.db.reader
        query = reader.compiled(
            ("locate_call", visibility_key(principal), by_unique_id),
            lambda: recordings.locate_statement(principal, by_unique_id),
        )
        return await reader.fetch_one(query, {**scope_params(principal), **params})

    async def recording(
        self,
        principal: Principal,
        action: RecordingAction,
        exten_or_unique_id: str,
        tenant_id: str | None,
        agent_login_name: str | None = None,
        tag: str = "",
    ) -> tuple[LocatedCall, int]:
        """start / stop / pause / resume; returns the call and the recording's leg. A refused
        request changes nothing: every check runs before the PBX is asked, and the PBX's own
        refusal (a race) is a 409 too. The change and its event: one short transaction."""
        call = await self.locate(principal, exten_or_unique_id, tenant_id)
        running = recordings.check_action(principal, call, action, agent_login_name)
        at = utcnow()
        if action == "start":
            owner = recordings.owner_for_start(principal, agent_login_name) or await self._named_owner(
                call, agent_login_name or ""
            )
            leg = call.last_leg + 1
            # Unique ids come from the PBX: only their safe characters make the file's name.
            path = str(self.recordings_dir / f"{re.sub(r'[^0-9A-Za-z.]', '_', call.unique_id)}-{leg}.wav")
            self._require_pbx()
            try:
                await self.driver.record_start(call.unique_id, path)
            except RecordingFailed as failed:  # the PBX took it and wrote nothing: a failed leg
                await self.db.writer.run(
                    recordings.start_steps(call, leg, owner, tag, path, at, failure=failed.reason)
                )
                self.db.announce(EVENTS_PENDING)
                raise
            steps = recordings.start_steps(call, leg, owner, tag, path, at)
        else:
            assert running is not None
            leg = running.leg
            self._require_pbx()
            late = self._late_change(principal, call.unique_id, leg, action)
            if action == "stop":
                await self.driver.record_stop(call.unique_id, late)
            else:
                await self.driver.record_pause(call.unique_id, action == "pause", late)
            steps = recordings.change_steps(
                call, running, action, at, files_visible=self.driver.recording_files_visible
            )
        try:
            await self.db.writer.run(steps)
        except Exception:
            if action == "start":  # not recorded (the database is away or full): stop it, as for dial
                with contextlib.suppress(Exception):
                    await self.driver.record_stop(call.unique_id)
            raise
        self.db.announce(EVENTS_PENDING)
        return call, leg

    def _late_change(
        self, principal: Principal, unique_id: str, leg: int, action: RecordingAction
    ) -> LateSuccess:
        """A stop, pause or resume answered 504 that the PBX did after all: recorded when it
        says so, if the leg is still in the state the change was asked from."""

        async def record() -> None:
            try:
                call = await self.locate(principal, unique_id, None)
                running = call.recording
                expected = {"stop": ("recording", "paused"), "pause": ("recording",), "resume": ("paused",)}
                if running is None or running.leg != leg or running.state not in expected[action]:
                    return  # ended or changed meanwhile (the call's end stops its recording)
                await self.db.writer.run(
                    recordings.change_steps(
                        call, running, action, utcnow(), files_visible=self.driver.recording_files_visible
                    )
                )
            except Exception:
                log.exception("the late %s of call %s's recording could not be recorded", action, unique_id)
                return
            self.db.announce(EVENTS_PENDING)

        def late() -> None:
            task = asyncio.get_running_loop().create_task(record())
            self._reconciling.add(task)
            task.add_done_callback(self._reconciling.discard)

        return late

    async def _named_owner(self, call: LocatedCall, username: str) -> tuple[int | None, str]:
        """An administrator named the owner: an account of the call's tenant."""
        reader = self.db.reader
        query = reader.compiled("recording_owner", recordings.owner_lookup_statement)
        row = await reader.fetch_one(query, {"username_key": username.lower(), "tenant_pk": call.tenant_pk})
        if row is None:
            raise BadRequest.field("agentLoginName", "no such account in the call's tenant")
        return row["pk"], row["username"]

    async def _record_on_answer(self, unique_id: str) -> None:
        def claim() -> tuple[str | None, str] | None:
            with self.db.transaction() as session:
                call = session.scalar(select(Call).where(Call.unique_id == unique_id))
                if call is None or call.record_on_answer is None:
                    return None
                wish, call.record_on_answer = call.record_on_answer, None
                return wish.get("owner"), str(wish.get("tag", ""))

        claimed = await run_in_threadpool(claim)
        if claimed is None:
            return
        owner_name, tag = claimed
        from switchboard.access.principal import CLI_PRINCIPAL

        # The dialler was authorized at dial time; the recording is started on its behalf.
        try:
            await self.recording(CLI_PRINCIPAL, "start", unique_id, None, owner_name, tag)
        except Exception as exc:  # the call may have gone meanwhile: nothing to record
            log.warning("recording on answer of %s not started: %s", unique_id, exc)

    # -- the driver's updates -------------------------------------------------------------------

    def start_consuming(self) -> None:
        self._consumer = asyncio.get_running_loop().create_task(self._consume())

    async def stop_consuming(self) -> None:
        """Stop between updates, never in the middle of one: a cancelled wait would leave its
        worker thread writing after the database is closed (a connection lost to the pool)."""
        await self.settle()  # the update in hand (and what the driver still holds) is written
        if self._reconciling:
            await asyncio.gather(*self._reconciling, return_exceptions=True)
        if self._consumer is not None:
            self._consumer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._consumer

    def _schedule_reconcile(self) -> None:
        task = asyncio.get_running_loop().create_task(self.reconcile())
        self._reconciling.add(task)
        task.add_done_callback(self._reconciling.discard)

    async def reconcile(self) -> None:
        """After a (re)connection: calls the database holds as live but the PBX no longer has
        ended while nobody was listening; record them as hung up (and their recordings stopped)."""
        listed_at = utcnow()  # calls recorded after the PBX's list was taken are not in it
        try:
            live = {call.unique_id for call in await self.driver.live_calls()}
        except Exception as exc:  # the PBX went away again: the next connection retries
            log.warning("could not list the PBX's calls: %s", exc)
            return

        def hang_up_missing() -> int:
            with self.db.transaction() as session:
                stale = [
                    c
                    for c in session.scalars(
                        select(Call).where(Call.ended_at.is_(None), Call.started_at < listed_at)
                    )
                    if c.unique_id not in live
                ]
                for call in stale:
                    update = CallUpdate(
                        call.unique_id,
                        call.extension,
                        "Hungup",
                        call.direction,
                        call.other_party,
                        call.caller_id,
                    )
                    service.apply_update(session, update, self.driver.recording_files_visible)
                return len(stale)

        ended = await run_in_threadpool(hang_up_missing)
        if ended:
            log.info("%d calls ended while the PBX was unreachable", ended)

    async def settle(self) -> None:
        """Wait (up to 5 s) until every update the driver has produced so far is in the
        database. Polls: updates come from the driver's own tasks, not from this one."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5.0
        while (self.driver.pending() or self._busy) and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.002)

    async def _consume(self) -> None:
        async for update in self.driver.updates():
            self._busy = True
            if await self._store(update):
                await self._record_on_answer(update.unique_id)
            self._busy = False

    async def _store(self, update: CallUpdate) -> bool:
        """Apply the update; while the database is away or full, retry it (holding those behind it,
        in order) rather than drop it: a lost hang-up would leave the call live in the records."""
        delay = 0.05
        while True:
            try:
                return await run_in_threadpool(self._apply, update)
            except Exception as exc:
                if not is_database_unavailable(exc):
                    log.exception("call update for %s not recorded", update.unique_id)
                    return False
                if delay == 0.05:
                    log.warning(
                        "call update for %s waits for the database: %s", update.unique_id, type(exc).__name__
                    )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    def _apply(self, update: CallUpdate) -> bool:
        with self.db.transaction() as session:
            call = service.apply_update(session, update, self.driver.recording_files_visible)
            return call is not None and update.state == "Connected" and call.record_on_answer is not None
