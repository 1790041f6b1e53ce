"""Calls and recordings: who may see and control which call, and what each change records.

Services take a session and a principal and never commit. The PBX is never called inside a
transaction: callers check (one transaction), act on the driver, then record (another), and
every state change appends to the event log in the transaction that records it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, union_all
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from switchboard.access.policy import (
    Kind,
    may_dial_from_any_extension,
    may_use_any_caller_id,
    scope_params,
    visibility,
)
from switchboard.access.principal import Principal
from switchboard.calls import patterns
from switchboard.calls.drivers.base import CallUpdate, extension_of_channel, new_unique_id
from switchboard.calls.models import (
    ENDED_STATES,
    RUNNING_RECORDING_STATES,
    Call,
    DiallingPolicy,
    Recording,
)
from switchboard.calls.recordings import (
    ActiveRecording,
    change_steps,
    event_step,
    locate_statement,
    run_in_session,
)
from switchboard.contact_centre.phones import normalise_phone
from switchboard.contact_centre.service import find_campaign
from switchboard.db.base import utcnow
from switchboard.directory.models import ServiceUser, Tenant, User
from switchboard.directory.service import find_tenant
from switchboard.errors import BadRequest, Forbidden, NotFound
from switchboard.events.log import Step

# Asterisk's unique ids: epoch seconds, a dot, a counter (1412750652.496).
UNIQUE_ID = re.compile(r"^\d{6,}\.\d+$")
# A tenant with no dialling policy of its own: internal extensions and national numbers;
# international ('+', '00') and premium-rate (not starting 0[1-8]) are refused.
DEFAULT_ALLOWED = [r"\d{2,6}", r"0[1-8]\d{6,12}"]
DEFAULT_MAX_CONCURRENT = 10
# How far a call has gone. It never goes back: a worker behind the others (every worker hears
# every PBX event) may report a step the call has already passed.
_STAGE = {"Dialing Out": 0, "Ringing": 0, "Connected": 1} | dict.fromkeys(ENDED_STATES, 2)


# -- finding calls ---------------------------------------------------------------------------------


def _tenants_with_extension(session: Session, extension: str) -> list[int]:
    users = select(User.tenant_pk).where(User.extension == extension)
    services = select(ServiceUser.tenant_pk).where(ServiceUser.extension == extension)
    return sorted(set(session.scalars(union_all(users, services))))


def parse_extension(raw: str, field: str = "extenOrUniqueId") -> str:
    """'410' or Noojee's dial form 'SIP/410' (also 'PJSIP/410-0000002a') -> '410'."""
    value = raw.strip()
    if "/" in value:
        value = extension_of_channel(value) or ""
    if not re.fullmatch(r"[0-9*#+]{1,20}", value):
        raise BadRequest.field(field, f"{raw[:40]!r} is neither a call unique id nor an extension")
    return value


def resolve_extension(
    session: Session, principal: Principal, raw: str, tenant_id: str | None, field: str = "extenOrUniqueId"
) -> tuple[int, str]:
    """(tenant, extension). Extensions are unique within a tenant, not across tenants: a
    tenant-scoped principal's (a tenant key's too) resolves in its tenant; the global key names
    the tenant when the extension exists in several (without it: 400 'ambiguous', never a guess)."""
    extension = parse_extension(raw, field)
    tenants = _tenants_with_extension(session, extension)
    if tenant_id is not None:
        tenant_pk = find_tenant(session, principal, tenant_id).pk
    elif principal.tenant_pk is not None:
        tenant_pk = principal.tenant_pk
    else:
        if len(tenants) > 1:
            raise BadRequest.field(
                "tenantId",
                f"extension {extension} exists in {len(tenants)} tenants: use that tenant's key "
                "(a tenant key), or name the tenant with tenantId",
            )
        if not tenants:
            raise NotFound(f"no extension {extension}")
        tenant_pk = tenants[0]
    if tenant_pk not in tenants:
        raise NotFound(f"no extension {extension}")
    return tenant_pk, extension


def find_call(session: Session, principal: Principal, exten_or_unique_id: str, tenant_id: str | None) -> Call:
    """A unique id selects that call; an extension, the live call on it (the most recent one
    when there are several). Invisible or missing: the same 404. The clear errors (no such
    extension, ambiguous extension, no live call) come from here."""
    value = exten_or_unique_id.strip()
    if UNIQUE_ID.match(value):
        params: dict[str, Any] = {"unique_id": value}
        missing = f"call {value} not found"
    else:
        tenant_pk, extension = resolve_extension(session, principal, value, tenant_id)
        params = {"tenant_pk": tenant_pk, "extension": extension}
        missing = f"no live call on extension {extension}"
    stmt = locate_statement(principal, "unique_id" in params)
    row = session.execute(stmt, {**scope_params(principal), **params}).first()
    if row is None:
        raise NotFound(missing)
    return session.get_one(Call, row.pk)


# -- dialling --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DialPlan:
    """A checked dial: what to ask the PBX for, and what to record once it has."""

    tenant_pk: int
    extension: str
    number: str
    caller_id: str
    campaign_pk: int | None
    account_pk: int | None


def own_extension(session: Session, principal: Principal) -> str | None:
    if principal.user_pk is None:
        return None
    return session.scalar(select(User.extension).where(User.pk == principal.user_pk)) or None


def _tenant_numbers(session: Session, tenant_pk: int) -> set[str]:
    """Numbers a tenant may present as caller id: its users' and service users' numbers and
    extensions, normalised."""
    found: set[str] = set()
    for model in (User, ServiceUser):
        for row in session.execute(
            select(model.phone_number, model.extension).where(model.tenant_pk == tenant_pk)
        ):
            for value in row:
                if value:
                    try:
                        found.add(normalise_phone(value))
                    except ValueError:
                        continue
    return found


def dialling_policy(session: Session, tenant_pk: int) -> tuple[list[str], int]:
    policy = session.get(DiallingPolicy, tenant_pk)
    if policy is None:
        return DEFAULT_ALLOWED, DEFAULT_MAX_CONCURRENT
    return policy.allowed, policy.max_concurrent_calls


def plan_dial(
    session: Session,
    principal: Principal,
    extension_raw: str,
    number_raw: str,
    caller_id_raw: str | None,
    campaign_id: int | None,
    tenant_id: str | None,
) -> DialPlan:
    """Every toll-fraud rule, before the PBX hears of the call (403 with the reason)."""
    tenant_pk, extension = resolve_extension(session, principal, extension_raw, tenant_id)
    if not may_dial_from_any_extension(principal) and extension != own_extension(session, principal):
        raise Forbidden("You may dial only from your own extension.")
    try:
        number = normalise_phone(number_raw)
    except ValueError as exc:
        raise BadRequest.field("number", str(exc)) from None
    allowed, max_calls = dialling_policy(session, tenant_pk)
    if not patterns.matches_any(allowed, number):
        raise Forbidden(f"The tenant's dialling policy does not allow calls to {number}.")
    caller_id = ""
    if caller_id_raw:
        try:
            caller_id = normalise_phone(caller_id_raw)
        except ValueError as exc:
            raise BadRequest.field("callerId", str(exc)) from None
        if not may_use_any_caller_id(principal) and caller_id not in _tenant_numbers(session, tenant_pk):
            raise Forbidden("callerId must be a number of your tenant.")
    live = session.scalar(
        select(func.count())
        .select_from(Call)
        .where(Call.tenant_pk == tenant_pk, Call.api_originated, Call.state.not_in(ENDED_STATES))
    )
    if (live or 0) >= max_calls:
        raise Forbidden(f"The tenant's limit of {max_calls} concurrent API calls is reached.")
    campaign_pk = None
    if campaign_id is not None:
        campaign = find_campaign(session, principal, None, campaign_id)
        if campaign.tenant_pk != tenant_pk:
            raise NotFound(f"campaign {campaign_id} not found or not visible")
        campaign_pk = campaign.pk
    return DialPlan(tenant_pk, extension, number, caller_id, campaign_pk, principal.account_pk)


def _upsert_call(
    session: Session, unique_id: str, values: dict[str, Any], started_at: datetime | None = None
) -> tuple[Call, bool]:
    """The call row, created if the PBX's first event or the dial's record gets there first;
    and whether this call created it. `started_at`: when the PBX says the call began (its first
    event's time), else now."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    inserted = session.execute(
        insert(Call)
        .values(unique_id=unique_id, started_at=started_at or utcnow(), **values)
        .on_conflict_do_nothing(index_elements=["unique_id"])
        .returning(Call.pk)
    ).first()
    call = session.scalars(
        select(Call)
        .where(Call.unique_id == unique_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    return call, inserted is not None


def record_dial(session: Session, plan: DialPlan, unique_id: str, ended: str | None = None) -> Call:
    """The dial, as placed; `ended`: the PBX made no call of it (OriginateFailed), so it is
    recorded ended in that state at once, under an id of its own: the PBX never used the one it
    was sent, which may be a live call's (Asterisk refuses an id in use, and says only "failed")."""
    if ended is not None:
        unique_id = new_unique_id()
    dialled = {
        "tenant_pk": plan.tenant_pk,
        "extension": plan.extension,
        "other_party": plan.number,
        "direction": "outbound",
        "caller_id": plan.caller_id,
    }
    call, created = _upsert_call(session, unique_id, {**dialled, "state": "Dialing Out"})
    # The PBX's first event may have been recorded first, by another worker that did not dial and
    # took the call for an inbound one with no number: what was dialled is the dial's to say.
    for name, value in dialled.items():
        setattr(call, name, value)
    call.campaign_pk = plan.campaign_pk
    call.originated_by = plan.account_pk
    call.api_originated = True
    session.flush()
    previous = None if created else call.state  # the state that first event recorded
    run_in_session(session, [call_event_step(call, "call.originated", utcnow(), previous)])
    if ended is not None:
        update = CallUpdate(
            unique_id,
            plan.extension,
            ended,
            "outbound",
            plan.number,
            plan.caller_id,
            tenant_pk=plan.tenant_pk,
        )
        return apply_update(session, update) or call
    return call


def apply_update(session: Session, update: CallUpdate, files_visible: bool = True) -> Call | None:
    """A state change reported by the PBX: the call row, the event log, and a recording the
    hang-up ended (`files_visible`: whether the PBX's recording files are visible here, see
    Driver.recording_files_visible). Ignored (None): calls on extensions outside the directory
    (not Switchboard's), and a step back (the call is past the reported state)."""
    # Every worker hears every PBX event; the row lock (PostgreSQL) lets the first apply it and
    # the others find the state already recorded, so each change is logged once.
    existing = session.scalar(select(Call).where(Call.unique_id == update.unique_id).with_for_update())
    # Only a call seen for the first time needs its tenant found from the directory.
    tenants = [] if existing is not None else _tenants_with_extension(session, update.extension)
    if existing is None and not tenants:
        return None
    call = existing
    if call is None:
        call, created = _upsert_call(
            session,
            update.unique_id,
            {
                # Ambiguous extension and nothing to say which: the call stays system-only.
                "tenant_pk": update.tenant_pk
                if update.tenant_pk in tenants
                else tenants[0]
                if len(tenants) == 1
                else None,
                "extension": update.extension,
                "other_party": update.other_party,
                "direction": update.direction,
                "caller_id": update.caller_id,
                "state": update.state,
            },
            started_at=update.started or update.at,
        )
        if not created:  # another worker recorded it meanwhile: as if it existed
            existing = call
    if call.state == update.state and existing is not None:
        return call
    if existing is not None and _STAGE[update.state] < _STAGE[call.state]:
        return None
    previous = existing.state if existing is not None else None
    call.state = update.state
    if update.state == "Connected" and call.answered_at is None:
        call.answered_at = update.at
    steps = []
    if update.state in ENDED_STATES:
        # Never before it began (a row made by the dial's own record, after the PBX's first event).
        call.ended_at = max(update.at, call.started_at)
        running = session.scalars(
            select(Recording).where(
                Recording.call_pk == call.pk, Recording.state.in_(RUNNING_RECORDING_STATES)
            )
        )
        for recording in running:  # the PBX stops a call's recording when the call ends
            steps += change_steps(
                call,
                active_of(recording),
                "stop",
                update.at,
                reason="call ended",
                files_visible=files_visible,
            )
    session.flush()
    steps.append(call_event_step(call, f"call.{update.state.lower().replace(' ', '_')}", update.at, previous))
    run_in_session(session, steps)
    return call


def call_facts(call: Call) -> dict[str, Any]:
    """What an event about a call carries besides its state: enough to show the call (subscribe's
    CallData is built from it, for an event as for a live call)."""
    return {
        "callId": call.pk,
        "direction": call.direction,
        "otherParty": call.other_party,
        "callerId": call.caller_id,
        "startedAt": call.started_at.isoformat(),
        "apiOriginated": call.api_originated,
        "campaignId": call.campaign_pk,
    }


def call_event_step(call: Call, kind: str, at: datetime, previous: str | None) -> Step:
    """`previousState`: the state before this event (None for a new call); subscribe reports
    changes of state only, webhooks every event."""
    return event_step(call, kind, at, previousState=previous, **call_facts(call))


# -- recordings ------------------------------------------------------------------------------------


def active_of(recording: Recording) -> ActiveRecording:
    return ActiveRecording(
        recording.pk,
        recording.state,
        recording.owner_pk,
        recording.owner_username,
        recording.leg,
        recording.tag,
        recording.started_at,
        recording.paused_at,
        recording.paused_seconds,
        recording.file,
    )


# -- views -----------------------------------------------------------------------------------------


def call_view(session: Session, call: Call) -> dict[str, Any]:
    # session.get: a page of calls loads each tenant once (the session's identity map).
    tenant = session.get(Tenant, call.tenant_pk) if call.tenant_pk else None
    tenant_id = tenant.tenant_id if tenant else None
    return {
        "uniqueId": call.unique_id,
        "tenantId": tenant_id,
        "extension": call.extension,
        "otherParty": call.other_party,
        "direction": call.direction,
        "callerId": call.caller_id,
        "state": call.state,
        "campaignId": call.campaign_pk,
        "startedAt": call.started_at.isoformat(),
        "answeredAt": call.answered_at.isoformat() if call.answered_at else None,
        "endedAt": call.ended_at.isoformat() if call.ended_at else None,
    }


def duration(recording: Recording) -> float:
    """Seconds recorded: from start to stop, paused spans left out (the file keeps them, as
    silence, on Asterisk). A failed leg recorded nothing: 0."""
    if recording.state == "failed":
        return 0.0
    end = recording.stopped_at or recording.paused_at or utcnow()
    return max(0.0, (end - recording.started_at).total_seconds() - recording.paused_seconds)


def recording_view(recording: Recording, call: Call) -> dict[str, Any]:
    return {
        "id": recording.pk,
        "uniqueId": call.unique_id,
        "leg": recording.leg,
        "owner": recording.owner_username or None,
        "tag": recording.tag,
        "state": recording.state,
        "startedAt": recording.started_at.isoformat(),
        "stoppedAt": recording.stopped_at.isoformat() if recording.stopped_at else None,
        "seconds": round(duration(recording), 3),
    }


def _recordings(
    principal: Principal,
    tag: str | None,
    unique_id: str | None,
    stopped_between: tuple[datetime, datetime] | None = None,
) -> Any:
    stmt = (
        select(Recording, Call)
        .join(Call, Call.pk == Recording.call_pk)
        .where(visibility(principal, Kind.RECORDING))
    )
    if tag is not None:
        stmt = stmt.where(Recording.tag == tag)
    if unique_id is not None:
        stmt = stmt.where(Call.unique_id == unique_id)
    if stopped_between is not None:
        stmt = stmt.where(
            Recording.stopped_at >= stopped_between[0], Recording.stopped_at < stopped_between[1]
        )
    return stmt


def count_recordings(session: Session, principal: Principal, tag: str | None, unique_id: str | None) -> int:
    stmt = _recordings(principal, tag, unique_id).with_only_columns(func.count())
    return session.scalar(stmt, scope_params(principal)) or 0


def visible_recordings(
    session: Session,
    principal: Principal,
    tag: str | None,
    unique_id: str | None,
    after: int | None = None,
    limit: int | None = None,
    stopped_between: tuple[datetime, datetime] | None = None,
) -> list[tuple[Recording, Call]]:
    """Recordings of calls the principal may see, by id (a page of them when limited); with
    `stopped_between`, the legs that ended in that span (Noojee's retrieveMetaDataByHour)."""
    stmt = _recordings(principal, tag, unique_id, stopped_between).order_by(Recording.pk)
    if after is not None:
        stmt = stmt.where(Recording.pk > after)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [(r, c) for r, c in session.execute(stmt, scope_params(principal))]


def list_calls(
    session: Session,
    principal: Principal,
    *,
    state: str | None = None,
    extension: str | None = None,
    campaign_pk: int | None = None,
    before_pk: int | None = None,
    limit: int,
) -> tuple[list[Call], int]:
    """Calls the principal may see, newest first: `limit` + 1 rows (one more says a page follows)
    and how many match. The API's list and the console's live calls both read it."""
    stmt = select(Call).where(visibility(principal, Kind.CALL))
    if state == "live":
        stmt = stmt.where(Call.state.not_in(ENDED_STATES))
    elif state == "ended":
        stmt = stmt.where(Call.state.in_(ENDED_STATES))
    if extension is not None:
        stmt = stmt.where(Call.extension == extension)
    if campaign_pk is not None:
        stmt = stmt.where(Call.campaign_pk == campaign_pk)
    params = scope_params(principal)
    total = session.scalar(select(func.count()).select_from(stmt.subquery()), params) or 0
    if before_pk is not None:
        stmt = stmt.where(Call.pk < before_pk)
    return list(session.scalars(stmt.order_by(Call.pk.desc()).limit(limit + 1), params)), total
