"""/api/v1/calls/, /api/v1/recordings/, a tenant's dialling policy, and the simulator's controls."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import Field, StringConstraints
from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, Response

from switchboard.access.dependencies import authorize
from switchboard.access.policy import (
    Area,
    Kind,
    may_drive_simulator,
    require_manage,
    target_in,
)
from switchboard.access.principal import Principal
from switchboard.audit.recording import audit_write
from switchboard.calls import patterns, queries, service
from switchboard.calls.control import CallControl, DialRequest
from switchboard.calls.drivers.simulated import SimulatedPbx
from switchboard.calls.models import Call, Recording
from switchboard.calls.recordings import RecordingAction
from switchboard.directory.service import find_tenant
from switchboard.errors import BadRequest, Conflict, Forbidden, NotFound
from switchboard.kit.pagination import DEFAULT_LIMIT, Cursor, Limit, page_request
from switchboard.kit.schemas import RowId, Schema, page_of
from switchboard.web import idempotency
from switchboard.web.responses import errors, json_response
from switchboard.web.state import database_of, services_of

router = APIRouter(prefix="/api/v1", tags=["calls"])
CallsCaller = Annotated[Principal, Depends(authorize(Area.CALLS))]
RecordingsCaller = Annotated[Principal, Depends(authorize(Area.RECORDINGS))]
READ = errors(400, 401, 403, 404)
LIST = errors(400, 401, 403)
CONTROL = errors(400, 401, 403, 404, 409, 503, 504)
KEYED_CONTROL = errors(400, 401, 403, 404, 409, 422, 503, 504)  # 409 also: the key's first request runs
SIMULATOR = errors(400, 401, 403, 404, 409)  # 409: the PBX is not the simulated one

Number = Annotated[str, StringConstraints(min_length=1, max_length=40)]


class DialIn(Schema):
    extension: Number = Field(description="The extension to dial from ('410' or 'SIP/410').")
    number: Number = Field(description="The destination; the tenant's dialling policy applies.")
    caller_id: Number | None = Field(
        default=None, description="A number of the tenant (any, for the global key)."
    )
    auto_answer: bool = False
    record: bool = Field(default=False, description="Start recording when the call is answered.")
    tag: Annotated[str, StringConstraints(max_length=100)] = ""
    campaign_id: RowId | None = None
    tenant_id: str | None = Field(
        default=None, description="Global key: the tenant, when the extension is ambiguous."
    )


class CallOut(Schema):
    unique_id: str
    tenant_id: str | None
    extension: str
    other_party: str
    direction: Literal["inbound", "outbound"]
    caller_id: str
    state: str
    campaign_id: int | None
    started_at: str
    answered_at: str | None
    ended_at: str | None


class RecordingIn(Schema):
    agent_login_name: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        default=None, description="start: the recording's owner; stop/pause/resume: must be its owner."
    )
    tag: Annotated[str, StringConstraints(max_length=100)] = ""


class RecordingOut(Schema):
    id: int
    unique_id: str
    leg: int
    owner: str | None
    tag: str
    state: Literal["recording", "paused", "stopped", "failed"] = Field(
        description="failed: the PBX wrote no file (nothing to download); never shown as stopped"
    )
    started_at: str
    stopped_at: str | None
    seconds: float = Field(
        description="Time recorded, paused spans left out (Asterisk's file keeps them as silence)"
    )


CallPage = page_of(CallOut, "calls")
RecordingPage = page_of(RecordingOut, "recordings")


class DiallingPolicyIO(Schema):
    allowed: Annotated[
        list[Annotated[str, StringConstraints(min_length=1, max_length=100)]], Field(max_length=100)
    ] = Field(
        description="Full-match patterns over normalised numbers ('+' kept), in RE2 syntax: "
        "linear-time matching, so no backreferences or lookaround."
    )
    max_concurrent_calls: Annotated[int, Field(ge=0, le=10_000)]


class InjectIn(Schema):
    to: Number = Field(description="The extension called.")
    from_: Number = Field(alias="from", description="The caller's number.")
    tenant_id: str | None = None


def _control(request: Request) -> CallControl:
    control = services_of(request).calls
    return control


# -- calls -----------------------------------------------------------------------------------------


@router.get("/calls/", response_model=CallPage, responses=LIST)
def list_calls(
    request: Request,
    principal: CallsCaller,
    state: Annotated[Literal["live", "ended"] | None, Query()] = None,
    extension: Annotated[str | None, Query(max_length=20)] = None,
    campaign_id: Annotated[RowId | None, Query(alias="campaignId")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Response:
    """Calls the caller may see, newest first: live and recent, filterable."""
    page = page_request(limit, cursor, None, None)
    with database_of(request).transaction() as session:
        body = queries.calls_page(
            session, principal, CallPage, page, state=state, extension=extension, campaign_pk=campaign_id
        )
    return json_response(body)


@router.post("/calls/", status_code=201, response_model=CallOut, responses=KEYED_CONTROL)
async def dial(
    request: Request, principal: CallsCaller, body: DialIn, idempotency_key: idempotency.KeyHeader = None
) -> Response:
    """Dials `number` from `extension` (yours, unless you administer the tenant). With an
    Idempotency-Key, a retry answers the first dial's call instead of dialling again."""

    async def place() -> Response:
        view = await _control(request).dial(
            principal,
            DialRequest(
                body.extension,
                body.number,
                body.caller_id,
                body.auto_answer,
                body.record,
                body.tag,
                body.campaign_id,
                body.tenant_id,
            ),
        )
        audit_write(request, 201, f"call:{view['uniqueId']}", None)
        return json_response(view, 201)

    return await idempotency.once(request, principal.identity, idempotency_key, place)


def _find(request: Request, principal: Principal, unique_id: str) -> dict[str, Any]:
    if not service.UNIQUE_ID.match(unique_id):
        raise NotFound(f"call {unique_id} not found")
    with database_of(request).transaction() as session:
        return service.call_view(session, service.find_call(session, principal, unique_id, None))


@router.get("/calls/{unique_id}/", response_model=CallOut, responses=READ)
def get_call(request: Request, principal: CallsCaller, unique_id: str) -> Response:
    return json_response(_find(request, principal, unique_id))


@router.post("/calls/{unique_id}/hangup/", response_model=CallOut, responses=CONTROL)
async def hangup(request: Request, principal: CallsCaller, unique_id: str) -> Response:
    """Hangs the call up; answers the call as it is after the hang-up (Hungup, with endedAt)."""
    if not service.UNIQUE_ID.match(unique_id):
        raise NotFound(f"call {unique_id} not found")
    await _control(request).hangup(principal, unique_id, None)
    audit_write(request, 200, f"call:{unique_id} hangup", None)
    await _control(request).settle()  # the answer is the call after the hang-up, not before
    return json_response(await run_in_threadpool(_find, request, principal, unique_id))


@router.post("/calls/{unique_id}/answer/", response_model=CallOut, responses=CONTROL)
async def answer(request: Request, principal: CallsCaller, unique_id: str) -> Response:
    """Answers the ringing call on its phone (Asterisk: PJSIP phones, by a NOTIFY with the talk
    event; 409 for a phone that cannot be answered remotely). Allowed as for a hang-up."""
    if not service.UNIQUE_ID.match(unique_id):
        raise NotFound(f"call {unique_id} not found")
    await _control(request).answer(principal, unique_id, None)
    audit_write(request, 200, f"call:{unique_id} answer", None)
    await _control(request).settle()
    return json_response(await run_in_threadpool(_find, request, principal, unique_id))


@router.post("/calls/{unique_id}/recording/{action}/", response_model=RecordingOut, responses=KEYED_CONTROL)
async def control_recording(
    request: Request,
    principal: CallsCaller,
    unique_id: str,
    action: RecordingAction,
    body: RecordingIn | None = None,
    idempotency_key: idempotency.KeyHeader = None,
) -> Response:
    """start / stop / pause / resume the call's recording. Each refusal is its own clear error
    (409: not running, already paused, call ended); a refused request changes nothing. A start
    the PBX took but wrote no file of answers 409 too, its leg recorded "failed"; a stop whose file
    is missing answers the leg "failed", never "stopped". With an Idempotency-Key, a retry answers
    the first request's leg instead of acting again."""
    if not service.UNIQUE_ID.match(unique_id):
        raise NotFound(f"call {unique_id} not found")
    wanted = body or RecordingIn()

    async def act() -> Response:
        call, leg = await _control(request).recording(
            principal, action, unique_id, None, wanted.agent_login_name, wanted.tag
        )
        audit_write(request, 200, f"call:{unique_id} recording {action}", None)

        def view() -> dict[str, Any]:
            with database_of(request).transaction() as session:
                return queries.recording_of_leg(session, call.pk, leg)

        return json_response(await run_in_threadpool(view))

    return await idempotency.once(request, principal.identity, idempotency_key, act)


# -- recordings ------------------------------------------------------------------------------------


@router.get("/recordings/", response_model=RecordingPage, responses=LIST)
def list_recordings(
    request: Request,
    principal: RecordingsCaller,
    tag: Annotated[str | None, Query(max_length=100)] = None,
    unique_id: Annotated[str | None, Query(alias="uniqueId", max_length=40)] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Response:
    """Recordings of calls the caller may see, oldest first, by tag or call; paged."""
    page = page_request(limit, cursor, None, None)
    with database_of(request).transaction() as session:
        body = queries.recordings_page(session, principal, RecordingPage, page, tag, unique_id)
    return json_response(body)


def _recording(request: Request, principal: Principal, recording_id: int) -> tuple[Recording, Call]:
    with database_of(request).transaction() as session:
        return queries.find_recording(session, principal, recording_id)


@router.get("/recordings/{recording_id}/", response_model=RecordingOut, responses=READ)
def get_recording(request: Request, principal: RecordingsCaller, recording_id: RowId) -> Response:
    return json_response(service.recording_view(*_recording(request, principal, recording_id)))


@router.get(
    "/recordings/{recording_id}/file/",
    responses={
        **READ,
        409: errors(409)[409],
        200: {"content": {"audio/wav": {}}, "description": "The WAV file"},
    },
)
def download_recording(request: Request, principal: RecordingsCaller, recording_id: RowId) -> Response:
    """The recording's audio, once it has stopped (scoped like its call)."""
    with database_of(request).transaction() as session:
        path, name = queries.recording_file(session, principal, recording_id)
    return FileResponse(path, media_type="audio/wav", filename=name)


# -- dialling policy -------------------------------------------------------------------------------


@router.get("/tenants/{tenant_id}/dialling-policy/", response_model=DiallingPolicyIO, responses=READ)
def get_dialling_policy(request: Request, principal: CallsCaller, tenant_id: str) -> Response:
    """What the tenant's API callers may dial (defaults until set)."""
    with database_of(request).transaction() as session:
        tenant = find_tenant(session, principal, tenant_id)
        require_manage(principal, target_in(Kind.DIALLING_POLICY, tenant))
        allowed, max_calls = service.dialling_policy(session, tenant.pk)
    return json_response({"allowed": allowed, "maxConcurrentCalls": max_calls})


@router.put("/tenants/{tenant_id}/dialling-policy/", response_model=DiallingPolicyIO, responses=READ)
def put_dialling_policy(
    request: Request, principal: CallsCaller, tenant_id: str, body: DiallingPolicyIO
) -> Response:
    for pattern in body.allowed:
        if (refused := patterns.pattern_error(pattern)) is not None:
            raise BadRequest.field("allowed", refused)
    with database_of(request).transaction() as session:
        tenant = find_tenant(session, principal, tenant_id)
        require_manage(principal, target_in(Kind.DIALLING_POLICY, tenant))
        policy = queries.store_dialling_policy(session, tenant.pk, body.allowed, body.max_concurrent_calls)
    audit_write(request, 200, f"dialling_policy:{tenant_id}", tenant.pk)
    return json_response({"allowed": policy.allowed, "maxConcurrentCalls": policy.max_concurrent_calls})


# -- the simulated PBX -----------------------------------------------------------------------------


def _simulator(request: Request, principal: Principal) -> SimulatedPbx:
    if not may_drive_simulator(principal):
        raise Forbidden("The simulator is for administrators.")
    driver = _control(request).driver
    if not isinstance(driver, SimulatedPbx):
        raise Conflict("The PBX is not the simulated one (SWITCHBOARD_PBX=simulated).")
    return driver


@router.post("/simulator/calls/", status_code=201, response_model=CallOut, responses=SIMULATOR)
async def inject_call(request: Request, principal: CallsCaller, body: InjectIn) -> Response:
    """An inbound call to an extension of the directory (simulated PBX, administrators)."""
    simulator = _simulator(request, principal)

    def resolve() -> tuple[int, str]:
        with database_of(request).transaction() as session:
            return service.resolve_extension(session, principal, body.to, body.tenant_id)

    tenant_pk, extension = await run_in_threadpool(resolve)
    unique_id = await simulator.inject(extension, body.from_, tenant_pk)
    await _control(request).settle()
    return json_response(await run_in_threadpool(_find, request, principal, unique_id), 201)


@router.post("/simulator/calls/{unique_id}/answer/", response_model=CallOut, responses=SIMULATOR)
async def answer_call(request: Request, principal: CallsCaller, unique_id: str) -> Response:
    simulator = _simulator(request, principal)
    view = await run_in_threadpool(_find, request, principal, unique_id)
    await simulator.answer(view["uniqueId"])
    await _control(request).settle()
    return json_response(await run_in_threadpool(_find, request, principal, unique_id))
