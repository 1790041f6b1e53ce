"""The API fuzzer's world: an app on a fresh database with one object of every kind and every credential."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import select
from starlette.testclient import TestClient

from switchboard.access import passwords
from switchboard.app import create_app
from switchboard.calls.models import Call, Recording
from switchboard.db.engine import Database
from switchboard.directory.models import Tenant
from switchboard.settings import Settings
from switchboard.system.bootstrap import initialise
from switchboard.web.idempotency import IdempotencyRecord, fingerprint
from tests.support.access_world import add_resellers, build_world, login, make_account
from tests.support.factories import created, make_tree, make_user
from tests.support.webhook_receiver import CLOSED_HOOK

# Weakest first: each generated request is sent with every credential in this order, so the one
# that may delete or change an object is the last to see it.
KINDS = ("anonymous", "user", "group_admin", "tenant_admin", "user_key", "system_admin", "global_key")
NOOJEE = "/servicemanager/rest"
T1 = "/api/v1/tenants/t1"
# What a DELETE removes when it names the world's own objects: created for it, or ones no other
# part of the world (credentials, the canaries below) depends on. Keys of FuzzWorld.ids, or values.
VICTIMS: dict[str, str | dict[str, str]] = {
    "tenant_id": "tv",
    "group_id": "gv",
    "domain": "spare.t1.example",
    "user_id": {"/users/": "u2@t1.example"},
    "name": {"/teams/": "M", "/local/resellers/": "Rv"},
    "username": {"/members/": "ga1", "/accounts/": "av"},
    "key_id": "spare_key",
    "override_id": "spare_override",  # the probes delete "override"
}


@dataclass
class FuzzWorld:
    """Ids of the objects the world holds, and the Authorization headers of each credential kind."""

    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    ids: dict[str, Any] = field(default_factory=dict)

    def candidates(self, method: str, path: str, name: str) -> list[Any]:
        """Values of path parameter `name` that exist in this world, for this route: first the
        one in t1/g1 (or, as what a DELETE removes, a victim nothing else needs), then others in
        other groups and tenants, for requests across scopes."""
        ids = self.ids
        last = path.rstrip("/").rsplit("/", 1)[-1] == f"{{{name}}}"
        if method == "DELETE" and last and name in VICTIMS:
            victim = VICTIMS[name]
            if isinstance(victim, dict):
                victim = next((v for segment, v in victim.items() if segment in path), None)
            if victim is not None:
                return [ids.get(victim, victim), *self.candidates("GET", path, name)]
        if name == "user_id":
            for segment, key in (
                ("/ivrs/", "ivr"),
                ("/call_centers/", "call_center"),
                ("/hunt_groups/", "hunt_group"),
                ("/route_points/", "route_point"),
            ):
                if segment in path:
                    return [ids[key], "ivr@t2.example"]
            return ["u1@t1.example", "u4@t2.example", "u3@t1.example"]
        if name == "name":
            if "/local/resellers/" in path:
                return ["R1", "R2"]
            if "/teams/" in path:
                return ["A", "M"]
            return ["GOps"] if "/groups/" in path else ["Ops"]
        if name == "username":
            if "/api-keys/" in path:
                return ["ta1", "ta2"]
            return ["m1", "eu1", "ga1", "ta1", "sa1", "ta2"]
        known: dict[str, list[Any]] = {
            "tenant_id": ["t1", "t2"],
            "group_id": ["g1", "g2"],
            "domain": ["t1.example", "t2.example"],
            "key_id": [ids["tenant_key"], ids["revoked_tenant_key"]]
            if "/tenant-keys/" in path
            else [ids["key"]],
            "allocation_id": [ids["allocation"]],
            "template_id": [ids["template"], ids["template_t2"], ids["template_no_team"]],
            "campaign_id": [ids["campaign"], ids["campaign_t2"], ids["campaign_no_team"]],
            "lead_id": [ids["lead"]],
            "number": [ids["dnc"]],
            "unique_id": [ids["call"], ids["call_t2"], ids["recorded_call"]],
            "action": ["start", "stop", "pause", "resume"],
            "recording_id": [ids["recording"], ids["recording_t2"], ids["live_recording"]],
            "webhook_id": [ids["webhook"], ids["webhook_t2"]],
            "job_id": [ids["job"]],
            "override_id": [ids["override"]],
        }
        return known.get(name, [])

    def noojee_values(self, name: str) -> list[str]:
        """Values for Noojee's (undocumented) query parameters that name objects of this world."""
        ids = self.ids
        known: dict[str, list[str]] = {
            "extenOrUniqueId": ["101", "102", ids["call"], ids["call_t2"]],
            "number": ["0390001234", "+61 3 9000 1234"],
            "tenantId": ["t1", "t2"],
            "agentLoginName": ["eu1", "ta1"],
            "tag": ["fuzz-tag"],
            "uniqueId": [ids["recorded_call"], ids["call"]],
            "exten": ["101", "101,102"],
            "lastSequenceNumber": ["0", "1"],
            "timeOut": ["0"],
            "campaignId": [str(ids["campaign"])],
            "fCampaignId": [str(ids["campaign"]), str(ids["campaign_no_team"]), str(ids["campaign_t2"])],
            "fTemplateId": [str(ids["template"]), str(ids["template_no_team"]), str(ids["template_t2"])],
            "allowDuplicates": ["true", "false"],
            "autoAnswer": ["true"],
            "record": ["true", "false"],
            "callerId": ["0390009999"],
            "date": ["2026/01/01"],
            "hour": ["3"],
            "recordingId": [str(ids["recording"]), str(ids["live_recording"])],
            "allocationId": [str(ids["allocation"])],
        }
        return known.get(name, [])


def _wait_state(client: TestClient, unique_id: str, state: str) -> None:
    """The simulated PBX moves on its own tasks: poll until the call is in `state`."""
    deadline = time.monotonic() + 5
    while True:
        got = client.get(f"/api/v1/calls/{unique_id}/").json().get("state")
        if got == state:
            return
        assert time.monotonic() < deadline, f"call {unique_id} stayed {got}, expected {state}"
        time.sleep(0.01)


def _dial(client: TestClient, extension: str, tenant: str) -> str:
    answer = client.post(
        f"{NOOJEE}/CallManagementAPI/dial",
        params={"extenOrUniqueId": extension, "number": "0390001234", "tenantId": tenant},
    )
    assert answer.status_code == 200, answer.text
    unique_id: str = answer.json()["SessionID"]
    _wait_state(client, unique_id, "Connected")
    return unique_id


def _recording(client: TestClient, unique_id: str, action: str, agent: str = "eu1") -> None:
    answer = client.post(
        f"{NOOJEE}/CallManagementAPI/{action}",
        params={"extenOrUniqueId": unique_id, "agentLoginName": agent, "tag": "fuzz-tag"},
    )
    assert answer.status_code == 200, answer.text


def build_fuzz_world(client: TestClient, global_key: str, url: str = "") -> FuzzWorld:
    """tests.support.access_world's two tenants and five principals, plus a system admin, a service user
    of each kind, teams, templates, campaigns, leads, a do-not-call number, live and recorded
    calls, webhooks, an import job and keys narrowed to one area. `client` holds the global key."""
    base = build_world(client, global_key)
    world = FuzzWorld(headers={"anonymous": {}, **base.headers})
    world.headers["global_key"] = world.headers.pop("system")
    add_resellers(client, base)  # R1 owns t1, R2 t2; R1 has an admin
    created(client.post("/api/v1/local/resellers/", json={"name": "Rv"}))  # owns nothing: deletable
    make_account(client, "sa1", "system")
    world.headers["system_admin"] = {"Authorization": f"Bearer {login(client, 'sa1')}"}
    ids = world.ids
    created(client.post(f"{T1}/groups/g1/departments/", json={"name": "GOps"}))
    created(client.post(f"{T1}/departments/", json={"name": "OpsChild", "parent": "Ops"}))
    created(client.post(f"{T1}/groups/g1/departments/", json={"name": "GOpsChild", "parent": "GOps"}))
    services = (
        ("call_centers", "call_center"),
        ("hunt_groups", "hunt_group"),
        ("route_points", "route_point"),
    )
    for segment, kind in services:
        ids[kind] = f"{kind.replace('_', '-')}@t1.example"
        body = {"serviceUserId": ids[kind], "serviceInstanceProfile": {"name": kind}}
        created(client.post(f"{T1}/groups/g1/services/{segment}/", json=body))
    ids["ivr"] = "ivr@t1.example"
    # Team A holds the end user and the group admin; M holds an account of its own to remove.
    created(client.post(f"{T1}/teams/", json={"name": "A"}))
    created(client.post(f"{T1}/teams/", json={"name": "M"}))
    make_account(client, "m1", "user", "t1", "g2")
    for team, member in (("A", "eu1"), ("A", "ga1"), ("M", "m1")):
        created(client.post(f"{T1}/teams/{team}/members/", json={"username": member}), 200)
    shift = {"username": "eu1", "start": "2026-12-07T09:00:00Z", "end": "2026-12-07T10:00:00Z"}
    for override in ("override", "spare_override"):
        ids[override] = created(client.post(f"{T1}/teams/A/roster/overrides/", json=shift))["id"]
    for key, tenant, name, team in (
        ("template", "t1", "TA", "A"),
        ("template_no_team", "t1", "TN", None),
        ("template_t2", "t2", "T2", None),
    ):
        body = {
            "name": name,
            "team": team,
            "leadFields": [{"name": "phone", "type": "phone", "phone": True}, {"name": "firstName"}],
            "dispositions": [{"name": "Sale"}],
        }
        template = created(client.post(f"/api/v1/tenants/{tenant}/campaign-templates/", json=body))
        ids[key] = template["id"]
        campaign = {"name": f"c{name}", "templateId": template["id"]}
        ids[key.replace("template", "campaign")] = created(
            client.post(f"/api/v1/tenants/{tenant}/campaigns/", json=campaign)
        )["id"]
    leads = {
        "leads": [
            {"externalId": "lead-1", "fields": {"phone": "0390000001"}},
            {"externalId": "lead-2", "fields": {"phone": "0390000002"}},
        ]
    }
    batch = created(client.post(f"{T1}/campaigns/{ids['campaign']}/leads/", json=leads), 200)
    assert batch["written"] == 2, batch
    ids["lead"] = batch["results"][0]["id"]
    ids["allocation"] = client.get(f"{T1}/campaigns/{ids['campaign']}/allocations/").json()["allocations"][0][
        "id"
    ]
    dnc = created(client.post(f"{T1}/dnc/", json={"number": "0390000099"}))
    ids["dnc"] = dnc["number"]
    # A call recorded and stopped (its file exists), a call still recording, and one in t2.
    ids["recorded_call"] = _dial(client, "102", "t1")
    _recording(client, ids["recorded_call"], "start")
    _recording(client, ids["recorded_call"], "stop")
    ids["call"] = _dial(client, "101", "t1")
    _recording(client, ids["call"], "start")
    ids["call_t2"] = _dial(client, "101", "t2")
    _recording(client, ids["call_t2"], "start", agent="ta2")
    recordings = {r["uniqueId"]: r["id"] for r in client.get("/api/v1/recordings/").json()["recordings"]}
    ids["recording"] = recordings[ids["recorded_call"]]
    ids["live_recording"] = recordings[ids["call"]]
    ids["recording_t2"] = recordings[ids["call_t2"]]
    for key, tenant in (("webhook", "t1"), ("webhook_t2", "t2")):
        hook = {"url": f"{CLOSED_HOOK}/hook", "eventTypes": ["call.*"], "tenantId": tenant}
        ids[key] = created(client.post("/api/v1/webhooks/", json=hook))["id"]
    ids["key"] = client.get("/api/v1/accounts/ta1/api-keys/").json()["apiKeys"][0]["id"]
    ids["spare_key"] = created(client.post("/api/v1/accounts/ta1/api-keys/", json={"name": "spare"}))["id"]
    revoked = created(client.post("/api/v1/accounts/ta1/api-keys/", json={"name": "revoked"}))["id"]
    assert client.delete(f"/api/v1/accounts/ta1/api-keys/{revoked}/").status_code == 204
    ids["revoked_key"] = revoked
    for name in ("tenant_key", "revoked_tenant_key"):
        ids[name] = created(client.post(f"{T1}/tenant-keys/", json={"name": name}))["keyId"]
    assert client.delete(f"{T1}/tenant-keys/{ids['revoked_tenant_key']}/").status_code == 204
    # Keys narrowed to one area each: the 403 of every other campaign-related endpoint.
    for kind, scope in (("campaigns_key", "campaigns"), ("calls_key", "calls")):
        key = {"name": kind, "scopes": [scope]}
        secret = created(client.post("/api/v1/accounts/ta1/api-keys/", json=key))["key"]
        world.headers[kind] = {"Authorization": f"Bearer {secret}"}
    make_account(client, "av", "user", "t1", "g1")
    created(client.post("/api/v1/tenants/", json={"tenantId": "tv", "type": "Enterprise"}))
    created(client.post(f"{T1}/groups/", json={"groupId": "gv"}))
    created(client.post(f"{T1}/domains/", json={"domain": "spare.t1.example"}))
    job = client.post(
        "/api/v1/import/",
        params={"checkOnly": "true"},
        content=b'{"kind": "tenants", "tenantId": "t9", "type": "Enterprise"}\n',
        headers={"Content-Type": "application/x-ndjson"},
    )
    ids["job"] = created(job, 202)["id"]
    _hold_idempotency_keys(url, ids)
    return world


# The global key's Idempotency-Keys the probes send: one that answered another request (422), and
# ones whose request is still running, each for a lead insert the probes make (409 once waited for).
USED_KEY = "used-for-another-request"
BUSY_KEY = "still-in-progress"
BUSY_LEADS = {"leads": [{"externalId": "busy"}]}


def _hold_idempotency_keys(url: str, ids: dict[str, Any]) -> None:
    leads = f"/api/v1/tenants/t1/campaigns/{ids['campaign']}/leads/"
    noojee = [("fTemplateId", str(ids["template"])), ("fCampaignId", str(ids["campaign"]))]
    running = {
        "native": fingerprint("POST", leads, [], orjson.dumps(BUSY_LEADS)),
        "noojee": fingerprint("POST", f"{NOOJEE}/CampaignAPI/insertLeadFast", noojee, b"[]"),
    }
    database = Database(url)
    try:
        with database.transaction() as session:
            session.add(
                IdempotencyRecord(
                    principal="global_key",
                    key=USED_KEY,
                    fingerprint="0" * 64,
                    claim="-",
                    status=200,
                    body="{}",
                )
            )
            for surface, asked in running.items():
                session.add(
                    IdempotencyRecord(
                        principal="global_key", key=f"{BUSY_KEY}-{surface}", fingerprint=asked, claim="-"
                    )
                )
    finally:
        database.engine.dispose()


# A request each credential kind must be answered 200, and the role it must still have: if the
# fuzzer revoked, disabled, demoted or deleted one, or locked the address out, the world is rebuilt.
CANARIES: dict[str, tuple[str, str, str | None]] = {
    "user": ("GET", "/api/v1/accounts/eu1/", "user"),
    "group_admin": ("GET", "/api/v1/accounts/ga1/", "group_admin"),
    "tenant_admin": ("GET", "/api/v1/accounts/ta1/", "tenant_admin"),
    "system_admin": ("GET", "/api/v1/accounts/sa1/", "system"),
    "user_key": ("POST", f"{NOOJEE}/CampaignAPI/getCampaignTemplateList", None),
    "global_key": ("GET", f"{T1}/groups/g1/users/u1@t1.example/", None),
}


# Builds a world: given a client holding the global key, the key itself, and the database's URL.
Builder = Callable[[TestClient, str, str], FuzzWorld]


def build_bare_world(client: TestClient, global_key: str, url: str) -> FuzzWorld:
    """Nothing but the system and its global key."""
    return FuzzWorld(headers={"anonymous": {}, "global_key": {"Authorization": f"Bearer {global_key}"}})


def build_directory_world(client: TestClient, global_key: str, url: str) -> FuzzWorld:
    """t1/g1 and its user u1@t1.example on extension 101."""
    world = build_bare_world(client, global_key, url)
    make_tree(client)
    make_user(client, "t1", "g1", "u1@t1.example", extension="101")
    return world


def build_pbx_down_world(client: TestClient, global_key: str, url: str) -> FuzzWorld:
    """The directory world, and calls on extension 101 the database holds as live while the PBX
    is away: one not recorded (ids call1), one recording (call2), one paused (call3), and one
    still ringing (ringing)."""
    world = build_directory_world(client, global_key, url)
    database = Database(url)
    try:
        with database.transaction() as session:
            tenant_pk = session.scalar(select(Tenant.pk).where(Tenant.tenant_id == "t1"))
            states = (
                ("Connected", None),
                ("Connected", "recording"),
                ("Connected", "paused"),
                ("Ringing", None),
            )
            for n, (state, recording) in enumerate(states, 1):
                call = Call(
                    unique_id=f"1000000000.{n}",
                    tenant_pk=tenant_pk,
                    extension="101",
                    direction="outbound",
                    state=state,
                )
                session.add(call)
                session.flush()
                if recording is not None:
                    session.add(
                        Recording(call_pk=call.pk, tenant_pk=tenant_pk, leg=1, state=recording, file="-")
                    )
                world.ids[f"call{n}"] = call.unique_id
            world.ids["ringing"] = world.ids.pop("call4")
    finally:
        database.engine.dispose()
    return world


@contextmanager
def refused_port() -> Iterator[int]:
    """A local port that refuses connections (bound, never listening): a PBX that is down."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


class Target:
    """The app under test on a database of its own, in process, with a world built in it."""

    def __init__(
        self, settings: Settings, new_database: Callable[[], str], build: Builder = build_fuzz_world
    ) -> None:
        self.settings = settings
        self.new_database = new_database
        self.build = build
        self._client: TestClient | None = None
        self._world: FuzzWorld | None = None

    @property
    def client(self) -> TestClient:
        assert self._client is not None, "not started"
        return self._client

    @property
    def world(self) -> FuzzWorld:
        assert self._world is not None, "not started"
        return self._world

    def start(self) -> None:
        url = self.new_database()
        database = Database(url)
        try:
            passwords.configure(time_cost=1, memory_kib=64)
            with database.transaction() as session:
                credentials = initialise(session)
        finally:
            database.engine.dispose()
        assert credentials is not None
        app = create_app(self.settings.model_copy(update={"database_url": url}))
        client = TestClient(
            app, base_url="https://testserver", client=("127.0.0.1", 50000), raise_server_exceptions=False
        )
        client.__enter__()
        self._client = client
        client.headers["Authorization"] = f"Bearer {credentials.global_api_key}"
        self._world = self.build(client, credentials.global_api_key, url)
        del client.headers["Authorization"]  # each request names its credential

    def stop(self) -> None:
        if self._client is not None:
            self._client.__exit__(None, None, None)
            self._client = None

    def intact(self) -> bool:
        for kind, (method, path, role) in CANARIES.items():
            response = self.client.request(method, path, headers=self.world.headers[kind])
            if response.status_code != 200 or (role is not None and response.json().get("role") != role):
                return False
        return True

    def ensure_intact(self) -> None:
        """Rebuild the world on a new database when the fuzzer has broken it."""
        if not self.intact():
            self.stop()
            self.start()
