"""Noojee's rosterApi/getActiveRosters: a thin adapter over contact_centre.rosters."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from switchboard.access.dependencies import authorize
from switchboard.access.policy import Area
from switchboard.access.principal import Principal
from switchboard.contact_centre import rosters
from switchboard.kit.schemas import Schema
from switchboard.kit.surfaces import NOOJEE_PREFIX
from switchboard.noojee.envelope import COMMON_ERRORS, documented_errors
from switchboard.noojee.parameters import parameter, required
from switchboard.web.state import database_of

router = APIRouter(prefix=NOOJEE_PREFIX.rstrip("/"), tags=["noojee"])
# Noojee's API-key rule for teams, as for getCampaignList: user keys see the teams their account is in.
CampaignsCaller = Annotated[Principal, Depends(authorize(Area.CAMPAIGNS))]
ENTITY_TYPE = "ActiveRoster"


class RosterEntity(Schema):
    model_config = {"alias_generator": None}
    id: int
    login: str
    extension: str
    phoneNumber: str
    mobileNumber: str
    email: str
    statckPostion: int  # sic: Noojee's spelling, which its clients read


class ActiveRosters(Schema):
    model_config = {"alias_generator": None}
    code: int
    message: str
    type: str
    entities: list[RosterEntity]


@router.post(
    "/rosterApi/getActiveRosters",
    response_model=ActiveRosters,
    responses=documented_errors(
        (400, "teamName missing, or a team name in several tenants without tenantId"),
        (403, "Not allowed for this key"),
        (404, "No such team, or not visible to this key"),
        *COMMON_ERRORS,
    ),
)
async def get_active_rosters(request: Request, principal: CampaignsCaller) -> Response:
    """The members of team `teamName` on shift now, in stack order (the global key may add
    `tenantId` when the name is in several tenants)."""
    team_name = await required(request, "teamName")
    tenant_id = await parameter(request, "tenantId") or None

    def read() -> list[dict[str, Any]]:
        with database_of(request).transaction() as session:
            team = rosters.roster_team(session, principal, team_name, tenant_id)
            _, _, members = rosters.on_shift(session, team)
        return [
            {
                "id": m.account_pk,
                "login": m.username,
                "extension": m.extension,
                "phoneNumber": m.phone_number,
                "mobileNumber": m.mobile_number,
                "email": m.email,
                "statckPostion": m.stack_position,
            }
            for m in members
        ]

    entities = await run_in_threadpool(read)
    body = {"code": 0, "message": "OK", "type": ENTITY_TYPE, "entities": entities}
    return Response(orjson.dumps(body), media_type="application/json")
