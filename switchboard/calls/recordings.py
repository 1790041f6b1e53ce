"""Recording control: locating the call, the rules for start/stop/pause/resume, and the writes.

The statements here are the one implementation, run two ways: on the hot path through the raw
driver (switchboard.db.fastread / fastwrite: one indexed read, one short write, no ORM, no
thread hop), and inside ORM units of work (a hang-up stopping a recording) with
`session.execute`. Each change and its event-log entry are written in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Executable, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.orm import Session, aliased

from switchboard.access.policy import (
    Kind,
    may_control_call,
    may_record_for_others,
    own_extension,
    visibility,
)
from switchboard.access.principal import Principal
from switchboard.calls.models import ENDED_STATES, RUNNING_RECORDING_STATES, Call, Recording
from switchboard.errors import Conflict, Forbidden
from switchboard.events import log
from switchboard.events.log import Step, event_params
from switchboard.signals.feed import announce_after_commit

RecordingAction = Literal["start", "stop", "pause", "resume"]


@dataclass(frozen=True, slots=True)
class ActiveRecording:
    pk: int
    state: str
    owner_pk: int | None
    owner_username: str
    leg: int
    tag: str
    started_at: datetime
    paused_at: datetime | None
    paused_seconds: float
    file: str


@dataclass(frozen=True, slots=True)
class LocatedCall:
    """A call as control needs it: its state, its running recording, its last leg."""

    pk: int
    unique_id: str
    state: str
    tenant_pk: int | None
    extension: str
    campaign_pk: int | None
    last_leg: int
    recording: ActiveRecording | None
    principal_extension: str | None  # the requester's own extension, read with the call


def running(state: Any) -> Any:
    """A recording's state is a running one: plain comparisons, as the compiled hot-path
    statements take no expanding IN parameters."""
    return or_(*(state == value for value in RUNNING_RECORDING_STATES))


def locate_statement(principal: Principal, by_unique_id: bool) -> Any:
    """The call (by unique id, or the most recent live one on a tenant's extension) if the
    principal may see it, with its running recording: one indexed query."""
    active = aliased(Recording)
    last_leg = select(func.max(Recording.leg)).where(Recording.call_pk == Call.pk).scalar_subquery()
    stmt = (
        select(
            Call.pk,
            Call.unique_id,
            Call.state,
            Call.tenant_pk,
            Call.extension,
            Call.campaign_pk,
            func.coalesce(last_leg, 0).label("last_leg"),
            active.pk.label("rec_pk"),
            active.state.label("rec_state"),
            active.owner_pk.label("rec_owner_pk"),
            active.owner_username.label("rec_owner_username"),
            active.leg.label("rec_leg"),
            active.tag.label("rec_tag"),
            active.started_at.label("rec_started_at"),
            active.paused_at.label("rec_paused_at"),
            active.paused_seconds.label("rec_paused_seconds"),
            active.file.label("rec_file"),
            own_extension().label("principal_extension"),
        )
        .outerjoin(active, and_(active.call_pk == Call.pk, running(active.state)))
        .where(visibility(principal, Kind.CALL))
        .order_by(Call.pk.desc())
        .limit(1)
    )
    if by_unique_id:
        return stmt.where(Call.unique_id == bindparam("unique_id"))
    return stmt.where(
        Call.tenant_pk == bindparam("tenant_pk"),
        Call.extension == bindparam("extension"),
        Call.ended_at.is_(None),  # live: set with an ended state, in the same change
    )


def located(row: dict[str, Any]) -> LocatedCall:
    recording = None
    if row["rec_pk"] is not None:
        recording = ActiveRecording(
            row["rec_pk"],
            row["rec_state"],
            row["rec_owner_pk"],
            row["rec_owner_username"],
            row["rec_leg"],
            row["rec_tag"],
            row["rec_started_at"],
            row["rec_paused_at"],
            row["rec_paused_seconds"],
            row["rec_file"],
        )
    return LocatedCall(
        row["pk"],
        row["unique_id"],
        row["state"],
        row["tenant_pk"],
        row["extension"],
        row["campaign_pk"],
        row["last_leg"],
        recording,
        row["principal_extension"],
    )


# -- rules -----------------------------------------------------------------------------------------


def require_live(call: LocatedCall | Call) -> None:
    if call.state in ENDED_STATES:
        raise Conflict(f"call {call.unique_id} has ended ({call.state})")


def require_control(principal: Principal, call: LocatedCall) -> None:
    """The call is the principal's to act on (policy.may_control_call); seeing it is not enough."""
    if not may_control_call(principal, call.tenant_pk, call.extension, call.principal_extension):
        raise Forbidden(
            "Not allowed: a call is controlled by its agent (the account on its extension) and "
            "the tenant's administrators."
        )


def check_action(
    principal: Principal, call: LocatedCall, action: RecordingAction, agent_login_name: str | None
) -> ActiveRecording | None:
    """Everything decidable before the PBX is asked; a refusal changes nothing."""
    require_control(principal, call)
    require_live(call)
    recording = call.recording
    if action == "start":
        if recording is not None:
            raise Conflict(f"call {call.unique_id} is already being recorded")
        return None
    if recording is None:
        raise Conflict(f"no recording is running on call {call.unique_id}")
    # agentLoginName on stop/pause/resume must be the recording's owner (it names, never authorizes).
    if agent_login_name and agent_login_name.lower() != recording.owner_username.lower():
        raise Forbidden(
            f"The recording belongs to {recording.owner_username or 'nobody'}, not {agent_login_name}."
        )
    if action == "pause" and recording.state == "paused":
        raise Conflict("the recording is already paused")
    if action == "resume" and recording.state == "recording":
        raise Conflict("the recording is not paused")
    return recording


def owner_for_start(principal: Principal, agent_login_name: str | None) -> tuple[int | None, str] | None:
    """The recording's owner when no lookup is needed: the caller itself. None: an administrator
    named an account, which the caller looks up in the call's tenant (owner_lookup_statement).
    agentLoginName names the owner; it never authorizes: a non-admin may name only itself."""
    own = (principal.account_pk, principal.username or "")
    if not agent_login_name:
        return own
    if may_record_for_others(principal):
        return None
    if principal.username is None or agent_login_name.lower() != principal.username.lower():
        raise Forbidden("agentLoginName may only name your own account.")
    return own


def owner_lookup_statement() -> Any:
    from switchboard.access.models import Account

    return select(Account.pk, Account.username).where(
        Account.username_key == bindparam("username_key"), Account.tenant_pk == bindparam("tenant_pk")
    )


# -- writes ----------------------------------------------------------------------------------------


def event_step(call: LocatedCall | Call, kind: str, at: datetime, **data: Any) -> Step:
    """An event-log entry about the call, written in the transaction of the change."""
    params = event_params(
        kind,
        call.tenant_pk,
        {"state": call.state, **data},
        extension=call.extension,
        unique_id=call.unique_id,
        campaign_id=call.campaign_pk,
        at=at,
    )
    return log.event_step(params)


def _start() -> Executable:
    return insert(Recording).values(
        call_pk=bindparam("b_call_pk"),
        tenant_pk=bindparam("b_tenant_pk"),
        leg=bindparam("b_leg"),
        owner_pk=bindparam("b_owner_pk"),
        owner_username=bindparam("b_owner_username"),
        tag=bindparam("b_tag"),
        state=bindparam("b_state"),
        file=bindparam("b_file"),
        started_at=bindparam("at", type_=Recording.started_at.type),
        stopped_at=bindparam("b_stopped_at", type_=Recording.stopped_at.type),
        paused_seconds=0.0,
    )


def _stop() -> Executable:
    return (
        update(Recording)
        .where(Recording.pk == bindparam("recording_pk"), running(Recording.state))
        .values(
            state=bindparam("b_state"),
            stopped_at=bindparam("at", type_=Recording.stopped_at.type),
            paused_at=None,
            paused_seconds=bindparam("b_paused_seconds"),
        )
    )


def _pause() -> Executable:
    return (
        update(Recording)
        .where(Recording.pk == bindparam("recording_pk"), Recording.state == "recording")
        .values(state="paused", paused_at=bindparam("at", type_=Recording.paused_at.type))
    )


def _resume() -> Executable:
    return (
        update(Recording)
        .where(Recording.pk == bindparam("recording_pk"), Recording.state == "paused")
        .values(state="recording", paused_at=None, paused_seconds=bindparam("b_paused_seconds"))
    )


def paused_until(recording: ActiveRecording, at: datetime) -> float:
    """Seconds paused so far, counting a pause that ends at `at`."""
    if recording.state == "paused" and recording.paused_at is not None:
        return recording.paused_seconds + (at - recording.paused_at).total_seconds()
    return recording.paused_seconds


def start_steps(
    call: LocatedCall,
    leg: int,
    owner: tuple[int | None, str],
    tag: str,
    path: str,
    at: datetime,
    failure: str | None = None,
) -> list[Step]:
    """A started leg; with `failure`, one the PBX took but wrote no file of: recorded ended,
    "failed", with a recording.failed event saying why (never "recording", never "stopped")."""
    params = {
        "b_call_pk": call.pk,
        "b_tenant_pk": call.tenant_pk,
        "b_leg": leg,
        "b_owner_pk": owner[0],
        "b_owner_username": owner[1],
        "b_tag": tag,
        "b_file": path,
        "b_state": "recording" if failure is None else "failed",
        "b_stopped_at": None if failure is None else at,
        "at": at,
    }
    facts = {"leg": leg, "tag": tag, "owner": owner[1]}
    if failure is not None:
        facts["reason"] = failure
    kind = "recording.started" if failure is None else "recording.failed"
    return [("recording_start", _start, params), event_step(call, kind, at, **facts)]


def change_steps(
    call: LocatedCall | Call,
    recording: ActiveRecording,
    action: RecordingAction,
    at: datetime,
    reason: str | None = None,
    files_visible: bool = True,
) -> list[Step]:
    """stop / pause / resume, after the PBX did it (or the call ended). A stop whose file is not
    there (recording_written; when the PBX's files are visible here) ends the leg "failed", with
    a recording.failed event."""
    builders = {"stop": _stop, "pause": _pause, "resume": _resume}
    past = {"stop": "stopped", "pause": "paused", "resume": "resumed"}[action]
    if action == "stop" and files_visible and not recording_written(recording):
        past, reason = "failed", "the PBX wrote no file" + (f" ({reason})" if reason else "")
    params = {
        "recording_pk": recording.pk,
        "at": at,
        "b_paused_seconds": paused_until(recording, at),
        "b_state": past,
    }
    extra = {"reason": reason} if reason else {}
    return [
        (f"recording_{action}", builders[action], params),
        event_step(call, f"recording.{past}", at, leg=recording.leg, tag=recording.tag, **extra),
    ]


def recording_written(recording: ActiveRecording) -> bool:
    """Whether the leg's file is where Switchboard serves it from: the PBX's own proof that it
    recorded (a stat; Asterisk creates the file when the recording starts)."""
    return Path(recording.file).is_file()


def run_in_session(session: Session, steps: list[Step]) -> None:
    """The same steps inside an ORM unit of work."""
    for step in steps:
        _, build, params = step
        session.execute(build(), params)
        if log.is_event_step(step):
            announce_after_commit(session, log.EVENTS_PENDING)
