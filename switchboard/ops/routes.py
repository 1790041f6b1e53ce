"""/healthz (the process answers), /readyz (its dependencies answer), /metrics (Prometheus)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from starlette.responses import Response

from switchboard.ops.health import UNREACHABLE, pbx_round_trip
from switchboard.web.responses import json_response
from switchboard.web.state import database_of, services_of

router = APIRouter(tags=["operations"])
READY_PING_SECONDS = 1.0  # within a load balancer's probe timeout


class Health(BaseModel):
    status: str
    checks: dict[str, str] = {}


@router.get("/healthz", response_model=Health)
async def healthz() -> Response:
    return json_response({"status": "ok", "checks": {}})


@router.get("/readyz", response_model=Health, responses={503: {"model": Health}})
async def readyz(request: Request) -> Response:
    checks: dict[str, str] = {}
    try:
        await database_of(request).reader.ping()
        checks["database"] = "ok"
    except Exception as exc:  # any driver error means "not ready", said plainly
        checks["database"] = f"unavailable: {type(exc).__name__}"
    # The PBX is reported, but its absence only degrades the service: everything but call
    # control keeps working, so the instance stays in the load balancer.
    # Connected is not answering: a frozen Asterisk keeps its socket open. A Ping must come back.
    pbx = services_of(request).calls.driver
    if not pbx.available:
        checks["pbx"] = "unavailable: the PBX cannot be reached"
    elif await pbx_round_trip(pbx.ping, READY_PING_SECONDS) == UNREACHABLE:
        checks["pbx"] = f"unavailable: the PBX did not answer a Ping within {READY_PING_SECONDS:g} s"
    else:
        checks["pbx"] = "ok"
    ready = checks["database"] == "ok"
    status = "unavailable" if not ready else "ok" if checks["pbx"] == "ok" else "degraded"
    return json_response({"status": status, "checks": checks}, 200 if ready else 503)


@router.get("/metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    return Response(generate_latest(services_of(request).metrics.registry), media_type=CONTENT_TYPE_LATEST)


class Floor(BaseModel):
    status: str
    version: int


async def floor() -> Floor:
    """The benchmark's floor: a FastAPI route with a small Pydantic model, no auth, no database."""
    return Floor(status="ok", version=1)
