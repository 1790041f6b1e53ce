"""Noojee's CallManagementAPI and RecordingAPI: thin adapters over switchboard.calls."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, Response

from switchboard.access.dependencies import authorize
from switchboard.access.policy import Area
from switchboard.access.principal import Principal
from switchboard.audit.recording import audit_write
from switchboard.calls import call_records, queries, service
from switchboard.calls.control import CallControl, DialRequest
from switchboard.calls.recordings import RecordingAction
from switchboard.directory.service import tenant_time_zone
from switchboard.errors import BadRequest
from switchboard.kit.pagination import is_number
from switchboard.kit.schemas import Schema
from switchboard.kit.surfaces import NOOJEE_PREFIX
from switchboard.noojee.envelope import documented_errors, ok
from switchboard.noojee.parameters import (
    IDEMPOTENCY_KEY,
    answer_request,
    flag,
    optional_id,
    parameter,
    required,
    required_id,
)
from switchboard.noojee.replies import call_event, noojee_datetime
from switchboard.system.store import NOOJEE_SUBSCRIBE_MAX_WAIT
from switchboard.web import idempotency
from switchboard.web.disconnect import disconnection
from switchboard.web.state import database_of, services_of

router = APIRouter(prefix=NOOJEE_PREFIX.rstrip("/"), tags=["noojee"])
# RecordingAPI: mounted by the app under each of Noojee's prefixes (kit.surfaces.NOOJEE_PREFIXES).
recording_router = APIRouter(tags=["noojee"])
DEFAULT_WAIT = 10  # seconds a subscribe waits when the client does not say
MAX_SUBSCRIBED = 100  # extensions in one subscribe
CallsCaller = Annotated[Principal, Depends(authorize(Area.CALLS))]
RecordingsCaller = Annotated[Principal, Depends(authorize(Area.RECORDINGS))]
SubscribeCaller = Annotated[Principal, Depends(authorize(Area.EVENTS))]
ERRORS = documented_errors(
    (400, "Invalid request, or an extension in several tenants without tenantId"),
    (401, "No valid apiKey"),
    (
        403,
        "Not allowed: dialling policy, own extension only, another agent's recording, "
        "subscribe without the global key",
    ),
    (404, "No such call, no live call on that extension, or not visible"),
    (405, "POST only"),
    (
        409,
        "Not in a state for it: not recording, already paused, call ended, not ringing, "
        "a phone that cannot be answered remotely",
    ),
    (429, "Too many requests"),
    (503, "The PBX is unavailable"),
    (504, "The PBX took the request and did not answer in time"),
)

# Dial and recording control take idempotencyKey: a retry answers the first request's success.
KEYED_ERRORS = {
    **ERRORS,
    **documented_errors(
        (409, f"{ERRORS[409]['description']}; or a request with this idempotencyKey still in progress"),
        (422, "This idempotencyKey was used for a different request"),
    ),
}

# Reading metadata and subscribing ask nothing of the PBX; metadata of nothing visible is a list.
READ_ERRORS: dict[int | str, dict[str, Any]] = {s: ERRORS[s] for s in (400, 401, 403, 405, 429)}
SUBSCRIBE_ERRORS: dict[int | str, dict[str, Any]] = {s: ERRORS[s] for s in (400, 401, 403, 404, 405, 429)}


class Envelope(Schema):
    model_config = {"alias_generator": None}
    Code: int
    Message: str


class DialResult(Envelope):
    SessionID: str


class HangupResult(Envelope):
    UniqueId: str


class RecordingResult(HangupResult):
    Leg: int


class CallData(Schema):
    model_config = {"alias_generator": None}
    canAnswer: bool
    callerId: str
    uniqueCallId: str
    secondaryUniqueCallId: str
    callStartTime: str = Field(description="yyyy-MM-dd HH:mm:ss in the tenant's time zone")
    isQueueCall: bool
    isClickToDialCall: bool
    inbound: bool
    status: Literal["Dialing Out", "Ringing", "Connected", "Hungup"]
    hangupCause: str = Field(
        description="Why a Hungup call ended: normal, busy, no answer, congestion, failed"
    )
    otherPartyCallerId: str
    campaignId: int | None


class CallEntry(Schema):
    model_config = {"alias_generator": None}
    Code: int
    CallID: int
    CallData: CallData


class SubscribeResult(Envelope):
    seq: int
    Data: dict[str, list[CallEntry]]


class MetaData(Schema):
    model_config = {"alias_generator": None}
    Source: str
    Leg: int
    Start: str = Field(description="yyyy-MM-dd HH:mm:ss in the tenant's time zone")
    Tag: str
    Duration: int
    Username: str
    CallRecordId: int
    UniqueId: str
    DID: str
    Direction: str
    State: str = Field(description="recording, paused, stopped or failed (the PBX wrote no file)")


class MetaDataList(Envelope):
    entities: list[MetaData]


def _control(request: Request) -> CallControl:
    control = services_of(request).calls
    return control


@router.post("/CallManagementAPI/dial", response_model=DialResult, responses=KEYED_ERRORS)
async def dial(request: Request, principal: CallsCaller) -> Response:
    """Dials `number` from `extenOrUniqueId` (an extension, `SIP/450` or any tech prefix: yours
    unless you administer the tenant); `callerId`, `phoneCaption` (the name the agent's phone
    shows), `autoAnswer` (true/false or a SIP header such as `Call-info:answer-after=0`),
    `record` (+ `tag`), `campaignId`, `tenantId` (global key, ambiguous extension),
    `idempotencyKey` (a retry answers the first dial's call). Returns the call's unique id as
    SessionID."""
    auto_answer, answer_header = await answer_request(request, "autoAnswer")
    dial_request = DialRequest(
        extension=await required(request, "extenOrUniqueId"),
        number=await required(request, "number"),
        caller_id=await parameter(request, "callerId"),
        auto_answer=auto_answer,
        record=await flag(request, "record"),
        tag=(await parameter(request, "tag") or "")[:100],
        campaign_id=await optional_id(request, "campaignId"),
        tenant_id=await parameter(request, "tenantId"),
        answer_header=answer_header,
        caller_name=(await parameter(request, "phoneCaption") or "").strip()[:80],
    )

    async def place() -> Response:
        view = await _control(request).dial(principal, dial_request)
        audit_write(request, 200, f"call:{view['uniqueId']}", None)
        return ok(SessionID=view["uniqueId"])

    key = await parameter(request, IDEMPOTENCY_KEY)
    return await idempotency.once(request, principal.identity, key, place, IDEMPOTENCY_KEY)


@router.post("/CallManagementAPI/hangup", response_model=HangupResult, responses=ERRORS)
async def hangup(request: Request, principal: CallsCaller) -> Response:
    target = await required(request, "extenOrUniqueId")
    unique_id = await _control(request).hangup(principal, target, await parameter(request, "tenantId"))
    audit_write(request, 200, f"call:{unique_id} hangup", None)
    return ok(UniqueId=unique_id)


@router.post("/CallManagementAPI/answer", response_model=HangupResult, responses=ERRORS)
async def answer(request: Request, principal: CallsCaller) -> Response:
    """Answers the ringing call `uniqueId` (or the one ringing on `exten`) on its phone: the
    simulated PBX answers; Asterisk sends the PJSIP phone a NOTIFY (Event: talk), and a phone
    that cannot be answered remotely is a 409. `answerString` (the client's SIP header) is
    accepted and not needed."""
    await answer_request(request, "answerString")  # checked like autoAnswer; the NOTIFY needs none
    unique_id = await parameter(request, "uniqueId")
    exten = await parameter(request, "exten")
    if not (unique_id or "").strip() and not (exten or "").strip():
        raise BadRequest.field("uniqueId", "required: uniqueId or exten")
    unique_id = await _control(request).answer(
        principal,
        (unique_id or exten or "").strip(),
        await parameter(request, "tenantId"),
        phone=exten.strip() if unique_id and exten and exten.strip() else None,
    )
    audit_write(request, 200, f"call:{unique_id} answer", None)
    return ok(UniqueId=unique_id)


async def _recording(request: Request, principal: Principal, action: RecordingAction) -> Response:
    target = await required(request, "extenOrUniqueId")
    tenant_id = await parameter(request, "tenantId")
    agent_login_name = await parameter(request, "agentLoginName")
    tag = (await parameter(request, "tag") or "")[:100]

    async def act() -> Response:
        call, leg = await _control(request).recording(
            principal, action, target, tenant_id, agent_login_name, tag
        )
        audit_write(request, 200, f"call:{call.unique_id} recording {action}", None)
        return ok(UniqueId=call.unique_id, Leg=leg)

    key = await parameter(request, IDEMPOTENCY_KEY)
    return await idempotency.once(request, principal.identity, key, act, IDEMPOTENCY_KEY)


@router.post("/CallManagementAPI/start", response_model=RecordingResult, responses=KEYED_ERRORS)
async def start(request: Request, principal: CallsCaller) -> Response:
    """Starts recording the call (`extenOrUniqueId`); `agentLoginName` names the recording's
    owner (yourself, unless you administer the tenant), `tag` labels it. start, stop, pause and
    resume take `idempotencyKey`: a retry answers the first request's leg."""
    return await _recording(request, principal, "start")


@router.post("/CallManagementAPI/stop", response_model=RecordingResult, responses=KEYED_ERRORS)
async def stop(request: Request, principal: CallsCaller) -> Response:
    """Stops the recording (`stop?extenOrUniqueId=410`); `agentLoginName`, when given,
    must be the recording's owner."""
    return await _recording(request, principal, "stop")


@router.post("/CallManagementAPI/pause", response_model=RecordingResult, responses=KEYED_ERRORS)
async def pause(request: Request, principal: CallsCaller) -> Response:
    return await _recording(request, principal, "pause")


@router.post("/CallManagementAPI/resume", response_model=RecordingResult, responses=KEYED_ERRORS)
async def resume(request: Request, principal: CallsCaller) -> Response:
    return await _recording(request, principal, "resume")


def _metadata(
    request: Request,
    principal: Principal,
    tag: str | None,
    unique_id: str | None,
    hour: tuple[date, int] | None = None,
) -> Response:
    with database_of(request).transaction() as session:
        span = None
        if hour is not None:
            span = call_records.hour_span(hour[0], hour[1], call_records.principal_zone(session, principal))
        found = service.visible_recordings(session, principal, tag, unique_id, stopped_between=span)
        entities = [
            {
                "Source": "switchboard",
                "Leg": recording.leg,
                "Start": noojee_datetime(
                    recording.started_at, tenant_time_zone(session, recording.tenant_pk)
                ),
                "Tag": recording.tag,
                "Duration": round(service.duration(recording)),
                "Username": recording.owner_username,
                "CallRecordId": recording.pk,
                "UniqueId": call.unique_id,
                "DID": call.other_party if call.direction == "inbound" else call.caller_id,
                "Direction": "Inbound" if call.direction == "inbound" else "Outbound",
                "State": recording.state,
            }
            for recording, call in found
        ]
    return ok(entities=entities)


@recording_router.post("/RecordingAPI/retrieveMetaData", response_model=MetaDataList, responses=READ_ERRORS)
async def retrieve_metadata(request: Request, principal: RecordingsCaller) -> Response:
    """One entry per recording leg with this `tag`, of calls the key may see."""
    tag = await required(request, "tag")
    return await run_in_threadpool(_metadata, request, principal, tag, None)


@recording_router.post(
    "/RecordingAPI/retrieveMetaDataByUniqueId", response_model=MetaDataList, responses=READ_ERRORS
)
async def retrieve_metadata_by_unique_id(request: Request, principal: RecordingsCaller) -> Response:
    """One entry per recording leg of the call `uniqueId`, if the key may see it."""
    unique_id = await required(request, "uniqueId")
    return await run_in_threadpool(_metadata, request, principal, None, unique_id)


def _day_and_hour(raw_date: str, raw_hour: str) -> tuple[date, int]:
    try:
        day = datetime.strptime(raw_date, "%Y/%m/%d").date()
    except ValueError:
        raise BadRequest.field("date", "expected YYYY/MM/DD") from None
    if not is_number(raw_hour) or int(raw_hour) > 23:
        raise BadRequest.field("hour", "expected 0 to 23")
    return day, int(raw_hour)


@recording_router.post(
    "/RecordingAPI/retrieveMetaDataByHour", response_model=MetaDataList, responses=READ_ERRORS
)
async def retrieve_metadata_by_hour(request: Request, principal: RecordingsCaller) -> Response:
    """One entry per recording leg that ended in the hour `hour` (0-23) of `date` (YYYY/MM/DD),
    in the key's tenant's time zone (UTC for the global key), of calls the key may see."""
    hour = _day_and_hour(await required(request, "date"), await required(request, "hour"))
    return await run_in_threadpool(_metadata, request, principal, None, None, hour)


def _recording_file(request: Request, principal: Principal, recording_id: int) -> tuple[Path, str]:
    with database_of(request).transaction() as session:
        return queries.recording_file(session, principal, recording_id)


@recording_router.post(
    "/RecordingAPI/retrieveRecording",
    responses={
        **{s: ERRORS[s] for s in (400, 401, 403, 404, 405, 409, 429)},
        200: {"content": {"audio/wav": {}}, "description": "The leg's WAV file"},
    },
)
async def retrieve_recording(request: Request, principal: RecordingsCaller) -> Response:
    """The audio (WAV) of one recording leg, `recordingId` being its metadata's CallRecordId;
    once the leg has stopped."""
    recording_id = await required_id(request, "recordingId")
    path, name = await run_in_threadpool(_recording_file, request, principal, recording_id)
    return FileResponse(path, media_type="audio/wav", filename=name)


@router.post("/CallManagementAPI/subscribe", response_model=SubscribeResult, responses=SUBSCRIBE_ERRORS)
async def subscribe(request: Request, principal: SubscribeCaller) -> Response:
    """Call events of the extensions in `exten` (comma-separated) numbered after
    `lastSequenceNumber`, waiting up to `timeOut` seconds (default 10, at most the system setting
    noojeeSubscribeMaxWaitSeconds, 4 by default) for the first, and no longer than the client
    stays; `lastSequenceNumber=0` answers the extensions' live calls instead (at once with
    `timeOut=0`). Follow the reply's `seq`. The global key or a tenant key (its tenant's
    extensions); `tenantId` names the tenant of an extension several tenants have."""
    raw = [part for part in (await required(request, "exten")).split(",") if part.strip()]
    if not raw or len(raw) > MAX_SUBSCRIBED:
        raise BadRequest.field("exten", f"give 1 to {MAX_SUBSCRIBED} extensions, comma-separated")
    after = await optional_id(request, "lastSequenceNumber", maximum=2**63 - 1) or 0
    wait = await optional_id(request, "timeOut")
    tenant_id = await parameter(request, "tenantId")
    services = services_of(request)
    cap = float(await services.settings_cache.get(NOOJEE_SUBSCRIBE_MAX_WAIT))
    async with disconnection(request) as gone:
        found = await services.subscriptions.poll(
            principal, raw, tenant_id, after, min(DEFAULT_WAIT if wait is None else wait, cap), gone
        )
    data = {
        name: [call_event(seen.facts, seen.state, seen.unique_id, found.time_zones[name]) for seen in calls]
        for name, calls in found.calls.items()
    }
    return ok(seq=found.seq, Data=data)
