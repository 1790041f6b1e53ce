"""Noojee's systemHealth/test: this host's, the database pool's and the PBX link's figures."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from switchboard.access.dependencies import authorize
from switchboard.access.policy import Area
from switchboard.access.principal import Principal
from switchboard.kit.schemas import Schema
from switchboard.kit.surfaces import NOOJEE_PREFIX
from switchboard.noojee.envelope import COMMON_ERRORS, documented_errors
from switchboard.ops.health import statistics
from switchboard.web.state import services_of

router = APIRouter(prefix=NOOJEE_PREFIX.rstrip("/"), tags=["noojee"])
HealthCaller = Annotated[Principal, Depends(authorize(Area.HEALTH))]


class Statistics(Schema):
    model_config = {"alias_generator": None}
    ioWait: float
    loadAverage: float
    cpuPercent: float
    cores: int
    memoryAvailableMB: int
    memoryTotalMB: int
    freeDiskSpacePercent: float
    threadPoolUsagePercent: float
    schedulerPoolUsagePercent: float
    steal: float
    dbPoolSize: int
    dbPoolUsage: int
    lastBackupAttempt: str
    lastBackupSuccess: str
    backupStarting: bool
    pingData: dict[str, float]


class StatisticsReply(Schema):
    model_config = {"alias_generator": None}
    code: int
    message: str
    entities: list[Statistics]


@router.post(
    "/systemHealth/test",
    response_model=StatisticsReply,
    responses=documented_errors((403, "Not the global key or a tenant key"), *COMMON_ERRORS),
)
async def system_health(request: Request, principal: HealthCaller) -> Response:
    """Host figures (CPU, memory, disk), the database pool, and the PBX link's round trip in ms
    (pingData, keyed by the PBX host or "simulated"; -1 when unreachable). No backups are run
    here: lastBackupAttempt and lastBackupSuccess are "", backupStarting false."""
    services = services_of(request)
    driver = services.calls.driver
    entity = await statistics(services.db, services.settings.data_dir, driver.address, driver.ping)
    body = {"code": 0, "message": "OK", "entities": [entity]}
    return Response(orjson.dumps(body), media_type="application/json")
