"""Where a newcomer starts: the paths the API's index (GET /api/v1/) links and `switchboard serve`
names when it starts. Paths only, never a host: a link built from the Host header could point away."""

from __future__ import annotations

from dataclasses import dataclass

from switchboard.kit.surfaces import NOOJEE_PREFIX


@dataclass(frozen=True)
class EntryPoint:
    name: str  # the index's key for it
    path: str
    title: str
    method: str = "GET"


CONSOLE = EntryPoint("console", "/console/", "The web console: sign in with an account's name and password")
INDEX = EntryPoint("index", "/api/v1/", "This index")
DOCS = EntryPoint("docs", "/api/v1/docs", "The API's interactive documentation: every operation, tried live")
OPENAPI = EntryPoint("openapi", "/api/v1/openapi.json", "The OpenAPI document (for client generators)")
HEALTH = EntryPoint("health", "/healthz", "Liveness: 200 while the process answers")
READY = EntryPoint("ready", "/readyz", "Readiness: the database and the PBX link; 503 without the database")
METRICS = EntryPoint("metrics", "/metrics", "Prometheus metrics, by route template")
LOGIN = EntryPoint(
    "login", "/api/v1/auth/login/", "An account's username and password for a login token", "POST"
)
APIO_LOGIN = EntryPoint(
    "apioLogin", "/api/v1/login/", "APIO's login: a session cookie for APIO clients", "POST"
)
APIO_SEARCH = EntryPoint(
    "apioSearch", "/api/v1/search/objects/", "APIO's search objects (a JSON body on GET, or a POST)"
)
NOOJEE = EntryPoint(
    "noojee",
    DOCS.path + "#/noojee",
    f"The Noojee-compatible methods under {NOOJEE_PREFIX} (CampaignAPI, CallManagementAPI, "
    "RecordingAPI, rosterApi, systemHealth): their documentation",
)

# The index's links, in the order a newcomer needs them.
INDEX_LINKS = (CONSOLE, DOCS, OPENAPI, LOGIN, HEALTH, READY, METRICS, APIO_LOGIN, APIO_SEARCH, NOOJEE)
# What `serve` prints once it listens.
BANNER_LINKS = (CONSOLE, INDEX, DOCS, HEALTH)
