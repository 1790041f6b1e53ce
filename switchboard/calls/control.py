"""Call control: check in one transaction, act on the PBX outside any, record in another.

One instance per process, shared by the native and Noojee routes. It also consumes the
driver's call updates into the database (and starts recordings asked for at dial time).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from switchboard.access.models import Account
from switchboard.access.principal import Principal
from switchboard.calls import service
from switchboard.calls.drivers.base import CallUpdate, Driver, PbxUnavailable
from switchboard.calls.models import Call, Recording
from switchboard.db.engine import Database
from switchboard.errors import Conflict

log = logging.getLogger(__name__)
RecordingAction = Literal["start", "stop", "pause", "resume"]


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


class CallControl:
    def __init__(self, db: Database, driver: Driver, recordings_dir: Path) -> None:
        self.db = db
        self.driver = driver
        self.recordings_dir = recordings_dir
        self._consumer: asyncio.Task[None] | None = None
        self._busy = False  # an update taken from the driver is being written

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
        unique_id = await self.driver.originate(
            plan.extension, plan.number, plan.caller_id, request.auto_answer
        )

        def record() -> dict[str, Any]:
            with self.db.transaction() as session:
                call = service.record_dial(session, plan, unique_id)
                if request.record:
                    call.record_on_answer = {"owner": principal.account_pk, "tag": request.tag}
                return service.call_view(session, call)

        view = await run_in_threadpool(record)
        if request.record and view["state"] == "Connected":  # answered before we wrote the wish
            await self._record_on_answer(unique_id)
        return view

    async def hangup(self, principal: Principal, exten_or_unique_id: str, tenant_id: str | None) -> str:
        call = await self._live_call(principal, exten_or_unique_id, tenant_id)
        self._require_pbx()
        await self.driver.hangup(call.unique_id)
        return call.unique_id

    async def _live_call(self, principal: Principal, exten_or_unique_id: str, tenant_id: str | None) -> Call:
        def find() -> Call:
            with self.db.transaction() as session:
                call = service.find_call(session, principal, exten_or_unique_id, tenant_id)
                service.require_live(call)
                return call

        return await run_in_threadpool(find)

    # -- recordings -----------------------------------------------------------------------------

    async def recording(
        self,
        principal: Principal,
        action: RecordingAction,
        exten_or_unique_id: str,
        tenant_id: str | None,
        agent_login_name: str | None = None,
        tag: str = "",
    ) -> dict[str, Any]:
        """start / stop / pause / resume. A refused request changes nothing: every check runs
        before the PBX is asked, and the PBX's own refusal (a race) is a 409 too."""

        def check() -> tuple[Call, Any]:
            with self.db.transaction() as session:
                call = service.find_call(session, principal, exten_or_unique_id, tenant_id)
                service.require_live(call)
                if action == "start":
                    if service.active_recordings(session, call):
                        raise Conflict(f"call {call.unique_id} is already being recorded")
                    owner = service.recording_owner(session, principal, call, agent_login_name)
                    return call, (service.next_leg(session, call), owner)
                recording = service.active_recording(session, call)
                service.check_may_control(principal, recording, agent_login_name)
                service.require_state(recording, action)
                return call, recording

        call, detail = await run_in_threadpool(check)
        self._require_pbx()
        if action == "start":
            leg, owner = detail
            path = str(self.recordings_dir / f"{call.unique_id}-{leg}.wav")
            await self.driver.record_start(call.unique_id, path)
        elif action == "stop":
            await self.driver.record_stop(call.unique_id)
        else:
            await self.driver.record_pause(call.unique_id, action == "pause")

        def record() -> dict[str, Any]:
            with self.db.transaction() as session:
                stored = session.get_one(Call, call.pk)
                if action == "start":
                    done = service.record_started(session, stored, leg, owner, tag, path)
                else:
                    done = session.get_one(Recording, detail.pk)
                    service.record_changed(session, stored, done, action)
                return service.recording_view(done, stored)

        return await run_in_threadpool(record)

    async def _record_on_answer(self, unique_id: str) -> None:
        def claim() -> tuple[int | None, str] | None:
            with self.db.transaction() as session:
                call = session.scalar(select(Call).where(Call.unique_id == unique_id))
                if call is None or call.record_on_answer is None:
                    return None
                wish, call.record_on_answer = call.record_on_answer, None
                return wish.get("owner"), str(wish.get("tag", ""))

        claimed = await run_in_threadpool(claim)
        if claimed is None:
            return
        owner_pk, tag = claimed
        from switchboard.access.principal import CLI_PRINCIPAL

        # The dialler was authorized at dial time; the recording is started on its behalf.
        owner_name = await run_in_threadpool(self._username, owner_pk)
        try:
            await self.recording(CLI_PRINCIPAL, "start", unique_id, None, owner_name, tag)
        except Exception as exc:  # the call may have gone meanwhile: nothing to record
            log.warning("recording on answer of %s not started: %s", unique_id, exc)

    def _username(self, account_pk: int | None) -> str | None:
        if account_pk is None:
            return None
        with self.db.transaction() as session:
            account = session.get(Account, account_pk)
            return account.username if account else None

    # -- the driver's updates -------------------------------------------------------------------

    def start_consuming(self) -> None:
        self._consumer = asyncio.get_running_loop().create_task(self._consume())

    async def stop_consuming(self) -> None:
        if self._consumer is not None:
            self._consumer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._consumer

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
            try:
                answered = await run_in_threadpool(self._apply, update)
            except Exception:
                log.exception("call update for %s not recorded", update.unique_id)
                self._busy = False
                continue
            if answered:
                await self._record_on_answer(update.unique_id)
            self._busy = False

    def _apply(self, update: CallUpdate) -> bool:
        with self.db.transaction() as session:
            call = service.apply_update(session, update)
            return call is not None and update.state == "Connected" and call.record_on_answer is not None
