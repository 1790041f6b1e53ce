"""Noojee's CampaignAPI reads beyond the campaign list: allocations and call records."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from switchboard.access.dependencies import authorize
from switchboard.access.policy import Area
from switchboard.access.principal import Principal
from switchboard.calls import service as calls
from switchboard.calls.call_records import CallRecord, campaign_call_records
from switchboard.contact_centre.allocations import visible_allocations
from switchboard.contact_centre.models import Campaign
from switchboard.directory.service import tenant_time_zone
from switchboard.kit.schemas import Schema
from switchboard.kit.surfaces import NOOJEE_PREFIX
from switchboard.noojee.envelope import documented_errors, ok
from switchboard.noojee.parameters import optional_id
from switchboard.noojee.replies import noojee_datetime, noojee_status
from switchboard.web.state import database_of

router = APIRouter(prefix=NOOJEE_PREFIX.rstrip("/"), tags=["noojee"])
CampaignsCaller = Annotated[Principal, Depends(authorize(Area.CAMPAIGNS))]
# Lists: what is not visible is simply not listed (as getCampaignList), so no 404.
LIST_ERRORS = documented_errors(
    (400, "Invalid request"),
    (401, "No valid apiKey"),
    (403, "Not allowed for this key"),
    (405, "POST only"),
    (429, "Too many requests"),
)


class AllocationEntity(Schema):
    model_config = {"alias_generator": None}
    id: int
    name: str
    campaignId: int
    leadCount: int
    created: str


class AllocationList(Schema):
    model_config = {"alias_generator": None}
    Code: int
    Message: str
    entities: list[AllocationEntity]


class RecordingEntity(Schema):
    model_config = {"alias_generator": None}
    id: int
    leg: int
    tag: str
    username: str
    start: str
    end: str
    duration: int


class CallRecordEntity(Schema):
    model_config = {"alias_generator": None}
    id: int
    name: str
    uniqueCallId: str
    number: str
    callerId: str
    extension: str
    agent: str
    direction: str
    campaignId: int | None
    leadId: int | None
    allocationId: int | None
    startDate: str
    answerDate: str
    endDate: str
    duration: int
    status: Literal["Dialing Out", "Ringing", "Connected", "Hungup"]
    hangupCause: str
    recordings: list[RecordingEntity]


class CallRecordList(Schema):
    model_config = {"alias_generator": None}
    Code: int
    Message: str
    entities: list[CallRecordEntity]


def _allocations(request: Request, principal: Principal, campaign_id: int | None) -> Response:
    with database_of(request).transaction() as session:
        found = visible_allocations(session, principal, campaign_id)
        entities = []
        for allocation, count in found:
            tenant_pk = session.get_one(Campaign, allocation.campaign_pk).tenant_pk
            entities.append(
                {
                    "id": allocation.pk,
                    "name": allocation.name,
                    "campaignId": allocation.campaign_pk,
                    "leadCount": count,
                    "created": noojee_datetime(allocation.created_at, tenant_time_zone(session, tenant_pk)),
                }
            )
    return ok(entities=entities)


@router.post("/CampaignAPI/getAllocationList", response_model=AllocationList, responses=LIST_ERRORS)
async def get_allocation_list(request: Request, principal: CampaignsCaller) -> Response:
    """The allocations (named batches of leads) of the campaigns this key may see, of campaign
    fCampaignId when given, with their lead counts."""
    campaign_id = await optional_id(request, "fCampaignId")
    return await run_in_threadpool(_allocations, request, principal, campaign_id)


def _record_entity(record: CallRecord, zone: str) -> dict[str, Any]:
    call = record.call
    end = call.ended_at
    status, cause = noojee_status(call.state)
    return {
        "id": call.pk,
        "name": record.lead_external_id or call.other_party,
        "uniqueCallId": call.unique_id,
        "number": call.other_party,
        "callerId": call.caller_id,
        "extension": call.extension,
        "agent": record.agent,
        "direction": "Inbound" if call.direction == "inbound" else "Outbound",
        "campaignId": call.campaign_pk,
        "leadId": record.lead_pk,
        "allocationId": record.allocation_pk,
        "startDate": noojee_datetime(call.started_at, zone),
        "answerDate": noojee_datetime(call.answered_at, zone),
        "endDate": noojee_datetime(end, zone),
        "duration": round((end - call.started_at).total_seconds()) if end is not None else 0,
        "status": status,
        "hangupCause": cause,
        "recordings": [
            {
                "id": recording.pk,
                "leg": recording.leg,
                "tag": recording.tag,
                "username": recording.owner_username,
                "start": noojee_datetime(recording.started_at, zone),
                "end": noojee_datetime(recording.stopped_at, zone),
                "duration": round(calls.duration(recording)),
            }
            for recording in record.recordings
        ],
    }


def _call_records(
    request: Request,
    principal: Principal,
    template_id: int | None,
    campaign_id: int | None,
    allocation_id: int | None,
) -> Response:
    with database_of(request).transaction() as session:
        records = campaign_call_records(session, principal, template_id, campaign_id, allocation_id)
        entities = [
            _record_entity(record, tenant_time_zone(session, record.call.tenant_pk)) for record in records
        ]
    return ok(entities=entities)


@router.post("/CampaignAPI/getCallRecordList", response_model=CallRecordList, responses=LIST_ERRORS)
async def get_call_record_list(request: Request, principal: CampaignsCaller) -> Response:
    """The calls dialled for the campaigns this key may see, oldest first, each with its lead
    (the campaign's lead with the number called: `leadId`, `allocationId`; `name` is its
    njExternalLeadId, else the number) and its recording legs (`id` for
    RecordingAPI/retrieveRecording); filtered by fTemplateId, campaignId and allocationId."""
    template_id = await optional_id(request, "fTemplateId")
    campaign_id = await optional_id(request, "campaignId")
    allocation_id = await optional_id(request, "allocationId")
    return await run_in_threadpool(_call_records, request, principal, template_id, campaign_id, allocation_id)
