"""API fuzzing with schemathesis: every operation, every credential kind, answered as documented."""

from __future__ import annotations

import contextlib
import copy
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, Verbosity, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from pydantic import SecretStr
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.testclient import TestClient

from switchboard.app import create_app
from switchboard.calls.drivers import asterisk
from switchboard.kit.pagination import encode_cursor
from switchboard.settings import Settings
from switchboard.web import idempotency
from switchboard.web.request_limits import MAX_QUERY_BYTES
from tests.support.access_world import PASSWORD
from tests.support.ami_server import AmiServer
from tests.support.asterisk import AMI_SECRET, ServerThread
from tests.support.factories import created, make_tree
from tests.support.fuzz_world import (
    BUSY_KEY,
    BUSY_LEADS,
    KINDS,
    USED_KEY,
    Target,
    build_bare_world,
    build_directory_world,
    build_pbx_down_world,
    refused_port,
)
from tests.support.intensity import SOAK, scaled
from tests.support.webhook_receiver import CLOSED_HOOK

pytestmark = pytest.mark.xdist_group("api_fuzz")  # one run for both tests under --dist loadgroup

# CI: SQLite and a few requests per operation and credential; soak: both databases, many more.
DATABASES = ["sqlite", "postgresql"] if SOAK else ["sqlite"]
POSITIVE = scaled(3, 120)  # schema-valid requests generated per operation, each sent with every kind
NEGATIVE = scaled(2, 80)  # schema-invalid ones (wrong types, missing fields, out of range)
CONFORMANCE = [status_code_conformance, content_type_conformance, response_schema_conformance]
CHECKS = [not_a_server_error, *CONFORMANCE]
OPENAPI = "/api/v1/openapi.json"

# Noojee's methods read their parameters from the query string or a form by hand, so the app's
# OpenAPI does not list them. Described here so that the fuzzer sends them: (required, optional).
RECORDING = (["extenOrUniqueId"], ["tenantId", "agentLoginName", "tag", "idempotencyKey"])
NOOJEE_PARAMETERS: dict[str, tuple[list[str], list[str]]] = {
    "CallManagementAPI/dial": (
        ["extenOrUniqueId", "number"],
        ["callerId", "autoAnswer", "record", "tag", "campaignId", "tenantId", "idempotencyKey"],
    ),
    "CallManagementAPI/hangup": (["extenOrUniqueId"], ["tenantId"]),
    "CallManagementAPI/answer": ([], ["uniqueId", "exten", "answerString", "tenantId"]),
    "CallManagementAPI/start": RECORDING,
    "CallManagementAPI/stop": RECORDING,
    "CallManagementAPI/pause": RECORDING,
    "CallManagementAPI/resume": RECORDING,
    "CallManagementAPI/subscribe": (["exten"], ["lastSequenceNumber", "timeOut", "tenantId"]),
    "RecordingAPI/retrieveMetaData": (["tag"], []),
    "RecordingAPI/retrieveMetaDataByUniqueId": (["uniqueId"], []),
    "RecordingAPI/retrieveMetaDataByHour": (["date", "hour"], []),
    "RecordingAPI/retrieveRecording": (["recordingId"], []),
    "CampaignAPI/getCampaignTemplateList": ([], []),
    "CampaignAPI/getCampaignList": ([], ["fTemplateId"]),
    "CampaignAPI/getAllocationList": ([], ["fCampaignId"]),
    "CampaignAPI/getCallRecordList": ([], ["fTemplateId", "campaignId", "allocationId"]),
    "CampaignAPI/insertLeadFast": (["fTemplateId", "fCampaignId"], ["allowDuplicates", "idempotencyKey"]),
    "CampaignAPI/updateLeadFast": (["fTemplateId", "fCampaignId"], ["allowDuplicates"]),
    "systemHealth/test": ([], []),
    "rosterApi/getActiveRosters": (["teamName"], ["tenantId"]),
}
NOOJEE = "/servicemanager/rest/"
# Top-level body fields that name objects: half the time the fuzzer's value is swapped for one
# that exists, so that requests get past the lookups into the code behind them.
BODY_REFERENCES: dict[str, list[str]] = {
    "tenantId": ["t1", "t2"],
    "groupId": ["g1", "g2"],
    "username": ["eu1", "ga1", "m1"],
    "linkedUserId": ["u2@t1.example", "u3@t1.example"],
    "team": ["A", "M"],
    "extension": ["101", "102"],
    "to": ["101", "102"],
    "department": ["Ops"],
}


@pytest.fixture
def fuzz_settings(settings: Settings) -> Settings:
    """The test settings, with limits that would answer a fuzzer 429 everywhere lifted, no
    webhook deliveries (the fuzzer may register any URL), and a subscribe that never waits."""
    return settings.model_copy(
        update={
            "auth_failures_per_minute": 1_000_000,
            "requests_per_minute": 10_000_000,
            "login_concurrency": 8,
            "webhook_worker": False,
            "subscribe_max_wait_seconds": 0.0,
            "import_max_bytes": 4096,  # a targeted request reaches 413 with a small body
        }
    )


@dataclass
class Outcome:
    """What a run saw: failures (each once per operation, check and status) and statuses."""

    failures: dict[tuple[str, str, int], str] = field(default_factory=dict)
    observed: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    requests: int = 0

    def record(self, case: schemathesis.Case, kind: str, response: Any, checks: list[Any]) -> None:
        self.requests += 1
        self.observed[case.operation.label].add(response.status_code)
        try:
            case.validate_response(response, checks=checks)
        except schemathesis.errors.FailureGroup as group:
            for failure in group.exceptions:
                key = (case.operation.label, failure.title, response.status_code)
                if key not in self.failures:
                    sent = response.request
                    body = sent.content[:300].decode("utf-8", "replace")
                    self.failures[key] = (
                        f"{case.operation.label} [{kind}] -> {response.status_code} {failure.title}: "
                        f"{failure.message.strip()[:400]}\n    sent: {sent.method} {sent.url} {body}\n"
                        f"    got: {response.text[:300]}"
                    )


def _document(app_schema: dict[str, Any]) -> dict[str, Any]:
    """The app's OpenAPI, plus Noojee's query parameters (see NOOJEE_PARAMETERS)."""
    document = copy.deepcopy(app_schema)
    for path, operations in document["paths"].items():
        if not path.startswith(NOOJEE):
            continue
        operations.pop("get", None)  # a GET twin: see _is_get_twin
        required, optional = NOOJEE_PARAMETERS[path.removeprefix(NOOJEE)]
        operations["post"]["parameters"] = [
            {"name": name, "in": "query", "required": name in required, "schema": {"type": "string"}}
            for name in required + optional
        ]
    return document


def _is_get_twin(operation: dict[str, Any]) -> bool:
    """A Noojee method's GET: the POST operation's endpoint behind the noojeeAcceptGet setting
    (off here: 405). Not fuzzed again; tests/api/test_noojee_get_and_parameters.py checks that
    it documents what its POST does and answers the same."""
    return bool(operation.get("x-get-of-post"))


def _can_negate(operation: schemathesis.APIOperation) -> bool:
    """False when every input is a free-form string in the path: nothing can be made invalid."""

    def free_string(parameter: dict[str, Any]) -> bool:
        schema = {k: v for k, v in parameter.get("schema", {}).items() if k not in ("title", "description")}
        nullable = {"anyOf": [{"type": "string"}, {"type": "null"}]}
        return parameter["in"] == "path" and schema in ({"type": "string"}, nullable)

    raw = operation.definition.raw
    return "requestBody" in raw or not all(free_string(p) for p in raw.get("parameters", []))


Choices = dict[str, int | None]


def _draw(strategy: st.SearchStrategy[Any], count: int) -> list[Any]:
    """Up to `count` values of `strategy`: fewer when it has fewer, none when it has none."""
    drawn: list[Any] = []

    @hypothesis_settings(
        max_examples=count,
        derandomize=not SOAK,  # CI: the same requests every run; the soak explores
        phases=[Phase.generate],
        database=None,
        deadline=None,
        verbosity=Verbosity.quiet,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(value: Any) -> None:
        drawn.append(value)

    with contextlib.suppress(Unsatisfiable):
        collect()
    return drawn


def _generate(operation: schemathesis.APIOperation) -> list[tuple[schemathesis.Case, Choices]]:
    """Requests for `operation`, each with a choice per path, query or body reference: None keeps
    the fuzzer's value, a number picks the world's object of that index (resolved when sent). The
    first valid requests go home (t1, g1, ...), keep the fuzzer's values, and go away (t2, g2,
    ...); the others' choices are drawn."""
    names = [p["name"] for p in operation.definition.raw.get("parameters", [])] + list(BODY_REFERENCES)
    choices = st.fixed_dictionaries({name: st.none() | st.integers(0, 5) for name in names})
    plans = [dict.fromkeys(names, 0), dict.fromkeys(names), dict.fromkeys(names, 1)]
    positive = _draw(st.tuples(operation.as_strategy(GenerationMode.POSITIVE), choices), POSITIVE)
    generated = [(case, plans[i] if i < len(plans) else picked) for i, (case, picked) in enumerate(positive)]
    if _can_negate(operation):
        generated += _draw(st.tuples(operation.as_strategy(GenerationMode.NEGATIVE), choices), NEGATIVE)
    return generated


def _order(operation: schemathesis.APIOperation) -> int:
    """Reads first and destruction last, so that fewer requests meet a world the fuzzer broke."""
    path, method = operation.path, operation.method.upper()
    if path.endswith(("/logout/", "/hangup", "/hangup/")) or method == "DELETE":
        return 2
    return 0 if method == "GET" else 1


def _substitute(target: Target, case: schemathesis.Case, picked: Choices) -> None:
    """Put the world's objects into the request, as `picked` says."""
    world = target.world
    noojee = case.operation.path.startswith(NOOJEE)
    for name, index in picked.items():
        if index is None:
            continue
        if case.path_parameters is not None and name in case.path_parameters:
            values = world.candidates(case.method.upper(), case.operation.path, name)
            if values:
                case.path_parameters[name] = values[index % len(values)]
        elif noojee and case.query is not None and name in case.query:
            values = world.noojee_values(name)
            if values:
                case.query[name] = values[index % len(values)]
        elif isinstance(case.body, dict) and name in case.body and name in BODY_REFERENCES:
            values = BODY_REFERENCES[name]
            case.body[name] = values[index % len(values)]


def _send(client: TestClient, case: schemathesis.Case, headers: dict[str, str]) -> Any:
    """The case through the app in process (schemathesis' own transport, translated for httpx)."""
    sent = case.as_transport_kwargs(base_url="https://testserver", headers=headers)
    request: dict[str, Any] = {
        "method": sent["method"],
        "url": sent["url"],
        "headers": sent["headers"],
        "params": sent.get("params") or None,
    }
    if "json" in sent:
        request["json"] = sent["json"]
    data = sent.get("data")
    if isinstance(data, bytes | str):
        request["content"] = data
    elif data is not None:
        request["data"] = data
    if sent.get("files"):
        request["files"] = sent["files"]
    return client.request(**request)


def _fuzz(target: Target, document: dict[str, Any]) -> Outcome:
    outcome = Outcome()
    schema = schemathesis.openapi.from_dict(document)
    operations = sorted((result.ok() for result in schema.get_all_operations()), key=_order)
    for operation in operations:
        for case, picked in _generate(operation):
            for kind in KINDS:
                _substitute(target, case, picked)
                response = _send(target.client, case, target.world.headers[kind])
                outcome.record(case, kind, response, CHECKS)
        if operation.method.upper() != "GET":
            target.ensure_intact()
    return outcome


@dataclass(frozen=True)
class Probe:
    """One request aimed at a documented status the fuzzer is unlikely to reach by chance."""

    operation: str  # as the OpenAPI names it: "POST /api/v1/calls/"
    status: int  # what it must be answered
    kind: str = "global_key"
    path: tuple[tuple[str, str], ...] = ()  # path parameters; "{name}" is the world's ids[name]
    query: tuple[tuple[str, str], ...] = ()
    json: Any = None
    content: bytes | None = None  # a raw body, sent with the Content-Type in `media`
    media: str = ""
    method: str = ""  # another method than the operation's (Noojee's 405)
    scheme: str = "https"
    headers: tuple[tuple[str, str], ...] = ()


def probe(operation: str, status: int, kind: str = "global_key", /, **fields: Any) -> Probe:
    for name in ("path", "query", "headers"):
        if name in fields:
            fields[name] = tuple(fields[name].items())
    return Probe(operation, status, kind, **fields)


T1 = "/api/v1/tenants/{tenant_id}"
T1G1 = {"tenant_id": "t1", "group_id": "g1"}
LEAD = {"tenant_id": "t1", "campaign_id": "{campaign}", "lead_id": "{lead}"}
CAMPAIGN = {"tenant_id": "t1", "campaign_id": "{campaign}"}
CM, CAMPAIGN_API, RA = f"{NOOJEE}CallManagementAPI/", f"{NOOJEE}CampaignAPI/", f"{NOOJEE}RecordingAPI/"
NUL = "n\x00l"  # PostgreSQL stores no NUL character, so neither engine accepts one (400)
USED, USED_PARAMETER = {"Idempotency-Key": USED_KEY}, {"idempotencyKey": USED_KEY}

# On the fuzz world, after the fuzzing, in this order (pause before resume, deletions last).
PROBES: list[Probe] = [
    # 200 / 201 / 202: requests valid enough to succeed.
    probe(
        "GET /api/v1/search/objects/",
        200,
        query={"tenant_id": "t1", "group_id": "g1", "user_id": "u1@t1.example"},
    ),
    probe(
        "POST /api/v1/search/objects/",
        200,
        json={"tenant_id": "t1", "group_id": "g1", "user_id": "u1@t1.example"},
    ),
    probe(
        "GET /api/v1/search/objects/",
        404,
        query={"tenant_id": "t1", "group_id": "g1", "user_id": "no@t1.example"},
    ),
    probe("POST /api/v1/search/objects/", 404, json={"tenant_id": "t9"}),
    probe(
        "POST /api/v1/accounts/",
        201,
        json={"username": "new1", "password": "long enough password", "role": "user", "tenantId": "t1"},
    ),
    probe(
        "POST /api/v1/local/resellers/{name}/admins/",
        201,
        path={"name": "R1"},
        json={"username": "radm1", "password": "long enough password"},
    ),
    probe("POST /api/v1/auth/login/", 200, json={"username": "m1", "password": PASSWORD}),
    probe("POST /api/v1/login/", 200, json={"username": "m1", "password": PASSWORD}),
    probe("POST /api/v1/login/", 401, json={"username": "m1", "password": "not the password"}),
    probe("POST /api/v1/login/", 400, json={"username": "m1"}),
    probe("POST /api/v1/logout/", 400),  # a key has no session to end
    probe("POST /api/v1/logout/", 403, "user_key"),
    probe("POST /api/v1/logout/", 401, "anonymous"),
    # Generated time zones are hardly ever IANA names: the fuzzer's tenants are refused 400.
    probe(
        "POST /api/v1/tenants/",
        201,
        json={"tenantId": "tz1", "type": "Enterprise", "timeZone": "Australia/Sydney"},
    ),
    # The perimeter's 403, before any route: plain HTTP.
    probe("POST /api/v1/auth/login/", 403, json={"username": "m1", "password": PASSWORD}, scheme="http"),
    probe("POST /api/v1/calls/", 201, json={"extension": "103", "number": "0390001234", "tenantId": "t1"}),
    probe("POST /api/v1/calls/", 404, json={"extension": "999", "number": "0390001234", "tenantId": "t1"}),
    probe(
        "POST /api/v1/import/",
        202,
        query={"checkOnly": "true"},
        content=b'{"kind": "tenants", "tenantId": "t8", "type": "Enterprise"}\n',
        media="application/x-ndjson",
    ),
    probe("POST /api/v1/import/", 413, content=b"{}\n" * 2000, media="application/x-ndjson"),
    probe("POST /api/v1/import/", 415, content=b"{}", media="application/json"),
    probe(
        "POST /api/v1/tenants/{tenant_id}/dnc/", 201, path={"tenant_id": "t1"}, json={"number": "0390000077"}
    ),
    probe(
        "POST /api/v1/tenants/{tenant_id}/groups/{group_id}/services/ivrs/",
        201,
        path=T1G1,
        json={"serviceUserId": "ivr2@t1.example", "serviceInstanceProfile": {"name": "IVR 2"}},
    ),
    probe(
        "POST /api/v1/webhooks/",
        201,
        json={"url": f"{CLOSED_HOOK}/probe", "eventTypes": ["call.*"], "tenantId": "t1"},
    ),
    probe("PUT /api/v1/settings/ip-allowlist/", 200, json={"entries": ["127.0.0.1", "::1"]}),
    # The soak's random bodies may all name lead fields the template lacks (400).
    probe(f"PATCH {T1}/campaigns/{{campaign_id}}/leads/{{lead_id}}/", 200, path=LEAD, json={"priority": 5}),
    probe(f"POST {CM}pause", 200, query={"extenOrUniqueId": "{call}"}),
    probe(f"POST {CM}resume", 200, query={"extenOrUniqueId": "{call}"}),
    probe(
        "POST /api/v1/calls/{unique_id}/recording/{action}/",
        200,
        path={"unique_id": "{call}", "action": "pause"},
    ),
    probe(
        "POST /api/v1/calls/{unique_id}/recording/{action}/",
        200,
        path={"unique_id": "{call}", "action": "resume"},
    ),
    probe(f"POST {CM}subscribe", 200, query={"exten": "101", "tenantId": "t1", "timeOut": "0"}),
    probe(f"POST {NOOJEE}rosterApi/getActiveRosters", 200, query={"teamName": "A", "tenantId": "t1"}),
    probe(
        f"PUT {T1}/teams/{{name}}/roster/",
        404,
        path={"tenant_id": "t1", "name": "Nope"},
        json={"members": []},
    ),
    probe(
        f"POST {T1}/teams/{{name}}/roster/overrides/",
        201,
        path={"tenant_id": "t1", "name": "A"},
        json={"username": "ga1", "start": "2026-12-07T09:00:00Z", "end": "2026-12-07T10:00:00Z"},
    ),
    *[
        probe(
            f"POST {T1}/groups/{{group_id}}/services/{segment}/",
            201,
            path=T1G1,
            json={"serviceUserId": f"{segment}-2@t1.example", "serviceInstanceProfile": {"name": "2"}},
        )
        for segment in ("call_centers", "hunt_groups", "route_points")
    ],
    # 404: what does not exist, where the fuzzer's guesses are seldom near.
    probe(f"POST {CM}subscribe", 404, query={"exten": "999", "tenantId": "t1", "timeOut": "0"}),
    probe(f"POST {CM}dial", 404, query={"extenOrUniqueId": "999", "number": "0390001234", "tenantId": "t1"}),
    probe("POST /api/v1/simulator/calls/", 404, json={"to": "999", "from": "0390009999", "tenantId": "t1"}),
    probe(
        "POST /api/v1/accounts/",
        404,
        json={"username": "new2", "password": "long enough password", "role": "user", "tenantId": "t9"},
    ),
    probe(
        "POST /api/v1/webhooks/",
        404,
        json={"url": f"{CLOSED_HOOK}/x", "eventTypes": ["*"], "tenantId": "t9"},
    ),
    # 403: a key narrowed to another area, or a role that may see but not change.
    *[
        probe(operation, 403, "calls_key", path=path, query=query)
        for operation, path, query in (
            (f"POST {NOOJEE}rosterApi/getActiveRosters", {}, {"teamName": "A"}),
            (f"GET {T1}/campaign-templates/", {"tenant_id": "t1"}, {}),
            (
                f"GET {T1}/campaign-templates/{{template_id}}/",
                {"tenant_id": "t1", "template_id": "{template}"},
                {},
            ),
            (f"GET {T1}/campaigns/", {"tenant_id": "t1"}, {}),
            (f"GET {T1}/campaigns/{{campaign_id}}/", CAMPAIGN, {}),
            (f"GET {T1}/campaigns/{{campaign_id}}/leads/", CAMPAIGN, {}),
            (f"GET {T1}/campaigns/{{campaign_id}}/leads/{{lead_id}}/", LEAD, {}),
            (f"GET {T1}/dnc/", {"tenant_id": "t1"}, {}),
            ("GET /api/v1/recordings/", {}, {}),
            ("GET /api/v1/recordings/{recording_id}/", {"recording_id": "{recording}"}, {}),
            ("GET /api/v1/recordings/{recording_id}/file/", {"recording_id": "{recording}"}, {}),
            (f"POST {CAMPAIGN_API}getCampaignTemplateList", {}, {}),
            (f"POST {CAMPAIGN_API}getCampaignList", {}, {}),
            (f"POST {RA}retrieveMetaData", {}, {"tag": "fuzz-tag"}),
            (f"POST {RA}retrieveMetaDataByUniqueId", {}, {"uniqueId": "{call}"}),
            (f"POST {RA}retrieveMetaDataByHour", {}, {"date": "2026/01/01", "hour": "3"}),
            (f"POST {RA}retrieveRecording", {}, {"recordingId": "{recording}"}),
            (f"POST {CAMPAIGN_API}getAllocationList", {}, {}),
            (f"POST {CAMPAIGN_API}getCallRecordList", {}, {}),
            (f"GET {T1}/campaigns/{{campaign_id}}/allocations/", CAMPAIGN, {}),
            (
                f"GET {T1}/campaigns/{{campaign_id}}/allocations/{{allocation_id}}/",
                {**CAMPAIGN, "allocation_id": "{allocation}"},
                {},
            ),
        )
    ],
    probe(f"POST {RA}retrieveMetaDataByHour", 200, query={"date": "2026/01/01", "hour": "3"}),
    probe(f"POST {RA}retrieveRecording", 200, query={"recordingId": "{recording}"}),
    probe(f"POST {RA}retrieveRecording", 404, query={"recordingId": "999999"}),
    probe(f"POST {RA}retrieveRecording", 409, query={"recordingId": "{live_recording}"}),
    probe(
        f"PATCH {T1}/tenant-keys/{{key_id}}/",
        409,
        path={"tenant_id": "t1", "key_id": "{revoked_tenant_key}"},
        json={"name": "x"},
    ),
    probe(
        f"POST {T1}/tenant-keys/{{key_id}}/rotate/",
        409,
        path={"tenant_id": "t1", "key_id": "{revoked_tenant_key}"},
        json={"graceSeconds": 0},
    ),
    *[
        probe(operation, 403, "campaigns_key", path=path, query=query)
        for operation, path, query in (
            ("GET /api/v1/calls/", {}, {}),
            ("GET /api/v1/calls/{unique_id}/", {"unique_id": "{call}"}, {}),
            ("POST /api/v1/calls/{unique_id}/hangup/", {"unique_id": "{call}"}, {}),
            (
                "POST /api/v1/calls/{unique_id}/recording/{action}/",
                {"unique_id": "{call}", "action": "pause"},
                {},
            ),
            (f"POST {CM}hangup", {}, {"extenOrUniqueId": "{call}"}),
            (f"POST {CM}start", {}, {"extenOrUniqueId": "{call}"}),
            (f"POST {CM}stop", {}, {"extenOrUniqueId": "{call}"}),
            (f"POST {CM}pause", {}, {"extenOrUniqueId": "{call}"}),
            (f"POST {CM}resume", {}, {"extenOrUniqueId": "{call}"}),
            (f"POST {CM}answer", {}, {"uniqueId": "{call}"}),
            ("POST /api/v1/calls/{unique_id}/answer/", {"unique_id": "{call}"}, {}),
        )
    ],
    probe(
        f"POST {CAMPAIGN_API}insertLeadFast",
        403,
        "calls_key",
        query={"fTemplateId": "{template}", "fCampaignId": "{campaign}"},
        json=[],
    ),
    probe(
        f"POST {CAMPAIGN_API}updateLeadFast",
        403,
        "calls_key",
        query={"fTemplateId": "{template}", "fCampaignId": "{campaign}"},
        json=[],
    ),
    probe(f"POST {T1}/campaigns/{{campaign_id}}/leads/", 403, "calls_key", path=CAMPAIGN, json={"leads": []}),
    probe(
        f"PATCH {T1}/campaigns/{{campaign_id}}/leads/{{lead_id}}/",
        403,
        "calls_key",
        path=LEAD,
        json={"priority": 5},
    ),
    probe(f"DELETE {T1}/campaigns/{{campaign_id}}/leads/{{lead_id}}/", 403, "calls_key", path=LEAD),
    probe(f"POST {T1}/campaign-templates/", 403, "user", path={"tenant_id": "t1"}, json={"name": "X"}),
    probe(
        f"PATCH {T1}/campaign-templates/{{template_id}}/",
        403,
        "user",
        path={"tenant_id": "t1", "template_id": "{template}"},
        json={"name": "X"},
    ),
    probe(f"PATCH {T1}/campaigns/{{campaign_id}}/", 403, "user", path=CAMPAIGN, json={"status": "paused"}),
    probe(f"POST {T1}/dnc/", 403, "user", path={"tenant_id": "t1"}, json={"number": "0390000088"}),
    probe(f"POST {CM}dial", 403, "user", query={"extenOrUniqueId": "102", "number": "0390001234"}),
    # 409: duplicates, limits, states and dependencies.
    probe("DELETE /api/v1/accounts/{username}/", 409, "tenant_admin", path={"username": "ta1"}),
    probe(f"DELETE {T1}/departments/{{name}}/", 409, path={"tenant_id": "t1", "name": "Ops"}),
    probe(f"DELETE {T1}/groups/{{group_id}}/departments/{{name}}/", 409, path={**T1G1, "name": "GOps"}),
    probe(f"DELETE {T1}/domains/{{domain}}/", 409, path={"tenant_id": "t1", "domain": "t1.example"}),
    probe(
        "PATCH /api/v1/accounts/{username}/api-keys/{key_id}/",
        409,
        path={"username": "ta1", "key_id": "{revoked_key}"},
        json={"name": "x"},
    ),
    probe("PATCH /api/v1/settings/", 409, json={"DEFAULT_DOMAIN": "t1.example"}),
    probe(
        f"PATCH {T1}/campaign-templates/{{template_id}}/",
        409,
        path={"tenant_id": "t1", "template_id": "{template}"},
        json={"name": "TN"},
    ),
    probe(f"PATCH {T1}/campaigns/{{campaign_id}}/", 409, path=CAMPAIGN, json={"name": "cTN"}),
    probe(
        f"PATCH {T1}/campaigns/{{campaign_id}}/leads/{{lead_id}}/",
        409,
        path=LEAD,
        json={"fields": {"phone": "0390000002"}},
    ),
    probe(
        f"PATCH {T1}/departments/{{name}}/",
        409,
        path={"tenant_id": "t1", "name": "OpsChild"},
        json={"name": "Ops"},
    ),
    probe(
        f"PATCH {T1}/groups/{{group_id}}/departments/{{name}}/",
        409,
        path={**T1G1, "name": "GOpsChild"},
        json={"name": "GOps"},
    ),
    probe(f"PATCH {T1}/groups/{{group_id}}/", 409, path=T1G1, json={"userLimit": 1}),
    # Not empty: refused without deleteNonEmpty=1; a value that is no boolean is invalid.
    probe(f"DELETE {T1}/", 409, path={"tenant_id": "t1"}),
    probe(f"DELETE {T1}/", 409, path={"tenant_id": "t1"}, query={"deleteNonEmpty": "0"}),
    probe(f"DELETE {T1}/", 400, path={"tenant_id": "t1"}, query={"deleteNonEmpty": "maybe"}),
    probe(f"DELETE {T1}/groups/{{group_id}}/", 409, path=T1G1),
    probe(f"DELETE {T1}/groups/{{group_id}}/", 400, path=T1G1, query={"deleteNonEmpty": "2"}),
    probe("GET /api/v1/tenants/", 400, query={"externalId1": "x" * 256}),
    *[
        probe(
            f"PATCH {T1}/groups/{{group_id}}/services/{segment}/{{user_id}}/",
            409,
            path={**T1G1, "user_id": f"{{{kind}}}"},
            json={"serviceInstanceProfile": {"name": "taken", "extension": "102"}},
        )
        for segment, kind in (
            ("ivrs", "ivr"),
            ("call_centers", "call_center"),
            ("hunt_groups", "hunt_group"),
            ("route_points", "route_point"),
        )
    ],
    probe(
        f"PATCH {T1}/groups/{{group_id}}/users/{{user_id}}/",
        409,
        path={**T1G1, "user_id": "u1@t1.example"},
        json={"extension": "102"},
    ),
    probe(
        "POST /api/v1/accounts/",
        409,
        json={"username": "eu1", "password": "long enough password", "role": "user", "tenantId": "t1"},
    ),
    probe(
        f"POST {T1}/groups/{{group_id}}/users/",
        409,
        path=T1G1,
        json={"userId": "u1@t1.example", "firstName": "A", "lastName": "B"},
    ),
    probe(f"POST {T1}/groups/{{group_id}}/departments/", 409, path=T1G1, json={"name": "GOps"}),
    probe(f"POST {T1}/dnc/", 409, path={"tenant_id": "t1"}, json={"number": "0390000077"}),
    probe(f"POST {CM}pause", 409, query={"extenOrUniqueId": "{recorded_call}"}),
    probe(f"POST {CM}answer", 409, query={"uniqueId": "{recorded_call}"}),  # connected, not ringing
    probe(f"POST {CM}answer", 400),  # neither uniqueId nor exten
    probe(f"POST {CM}answer", 404, query={"uniqueId": "1700000000.999"}),
    probe("POST /api/v1/calls/{unique_id}/answer/", 409, path={"unique_id": "{recorded_call}"}),
    probe("POST /api/v1/calls/{unique_id}/answer/", 404, path={"unique_id": "1700000000.999"}),
    probe(
        "POST /api/v1/calls/{unique_id}/recording/{action}/",
        409,
        path={"unique_id": "{recorded_call}", "action": "resume"},
    ),
    # 422: an Idempotency-Key that answered another request; 409: one whose request still runs.
    probe("POST /api/v1/calls/", 422, json={"extension": "101", "number": "0390001234"}, headers=USED),
    probe(
        "POST /api/v1/calls/{unique_id}/recording/{action}/",
        422,
        path={"unique_id": "{call}", "action": "pause"},
        headers=USED,
    ),
    probe(f"POST {T1}/campaigns/{{campaign_id}}/leads/", 422, path=CAMPAIGN, json=BUSY_LEADS, headers=USED),
    probe(f"POST {CM}dial", 422, query={"extenOrUniqueId": "101", "number": "0390001234", **USED_PARAMETER}),
    *[
        probe(f"POST {CM}{method}", 422, query={"extenOrUniqueId": "{call}", **USED_PARAMETER})
        for method in ("start", "stop", "pause", "resume")
    ],
    probe(
        f"POST {CAMPAIGN_API}insertLeadFast",
        422,
        query={"fTemplateId": "{template}", "fCampaignId": "{campaign}", **USED_PARAMETER},
        json=[],
    ),
    probe(
        f"POST {T1}/campaigns/{{campaign_id}}/leads/",
        409,
        path=CAMPAIGN,
        json=BUSY_LEADS,
        headers={"Idempotency-Key": f"{BUSY_KEY}-native"},
    ),
    probe(
        f"POST {CAMPAIGN_API}insertLeadFast",
        409,
        query={
            "fTemplateId": "{template}",
            "fCampaignId": "{campaign}",
            "idempotencyKey": f"{BUSY_KEY}-noojee",
        },
        json=[],
    ),
    # A campaign in another tenant: the same 404 as a missing one (by chance no more, since the
    # fuzzer's idempotencyKey values are often not keys: 400 before the campaign is looked up).
    probe(
        f"POST {CAMPAIGN_API}insertLeadFast",
        404,
        "user_key",
        query={"fTemplateId": "{template_t2}", "fCampaignId": "{campaign_t2}"},
        json=[],
    ),
    # 405: Noojee's methods are POST only.
    *[probe(f"POST {NOOJEE}{method}", 405, method="GET") for method in NOOJEE_PARAMETERS],
    # Last, what ends or deletes: a call hung up is not hung up again; departments without children go.
    probe("POST /api/v1/calls/{unique_id}/hangup/", 200, path={"unique_id": "{recorded_call}"}),
    probe(f"POST {CM}hangup", 409, query={"extenOrUniqueId": "{recorded_call}"}),
    probe(f"POST {CM}hangup", 200, query={"extenOrUniqueId": "{call_t2}"}),
    probe(f"DELETE {T1}/departments/{{name}}/", 204, path={"tenant_id": "t1", "name": "OpsChild"}),
    probe(
        f"DELETE {T1}/teams/{{name}}/roster/overrides/{{override_id}}/",
        204,
        path={"tenant_id": "t1", "name": "A", "override_id": "{override}"},
    ),
    probe(
        f"DELETE {T1}/teams/{{name}}/members/{{username}}/",
        204,
        path={"tenant_id": "t1", "name": "M", "username": "m1"},
    ),
    probe(f"DELETE {T1}/groups/{{group_id}}/departments/{{name}}/", 204, path={**T1G1, "name": "GOpsChild"}),
    probe(f"DELETE {T1}/tenant-keys/{{key_id}}/", 204, path={"tenant_id": "t1", "key_id": "{tenant_key}"}),
    probe("POST /api/v1/logout/", 204, "user"),  # the end user's login token: none of its probes follow
]
DIAL = {"extenOrUniqueId": "101", "number": "0390001234", "tenantId": "t1"}
# On an app whose PBX is down (fuzz_world.build_pbx_down_world: live calls call1 to call3).
PBX_DOWN_PROBES: list[Probe] = [
    probe("POST /api/v1/calls/", 503, json={"extension": "101", "number": "0390001234", "tenantId": "t1"}),
    probe("POST /api/v1/calls/{unique_id}/hangup/", 503, path={"unique_id": "{call1}"}),
    probe(
        "POST /api/v1/calls/{unique_id}/recording/{action}/",
        503,
        path={"unique_id": "{call1}", "action": "start"},
    ),
    probe(f"POST {CM}dial", 503, query=DIAL),
    probe(f"POST {CM}hangup", 503, query={"extenOrUniqueId": "{call1}"}),
    probe(f"POST {CM}start", 503, query={"extenOrUniqueId": "{call1}"}),
    probe(f"POST {CM}stop", 503, query={"extenOrUniqueId": "{call2}"}),
    probe(f"POST {CM}pause", 503, query={"extenOrUniqueId": "{call2}"}),
    probe(f"POST {CM}resume", 503, query={"extenOrUniqueId": "{call3}"}),
    probe(f"POST {CM}answer", 503, query={"uniqueId": "{ringing}"}),
    probe("POST /api/v1/calls/{unique_id}/answer/", 503, path={"unique_id": "{ringing}"}),
    # The simulator's routes are for the simulated PBX only.
    probe("POST /api/v1/simulator/calls/", 409, json={"to": "101", "from": "0390009999", "tenantId": "t1"}),
    probe("POST /api/v1/simulator/calls/{unique_id}/answer/", 409, path={"unique_id": "{call1}"}),
]
# On an app whose Asterisk froze (kill -STOP) after these calls rang on 101 (_frozen_pbx_calls):
# each action is sent and never answered.
FROZEN_PBX_PROBES: list[Probe] = [
    probe("POST /api/v1/calls/", 504, json={"extension": "101", "number": "0390001234", "tenantId": "t1"}),
    probe(f"POST {CM}dial", 504, query=DIAL),
    probe("POST /api/v1/calls/{unique_id}/hangup/", 504, path={"unique_id": "{hang}"}),
    probe(f"POST {CM}hangup", 504, query={"extenOrUniqueId": "{hang_too}"}),
    probe("POST /api/v1/calls/{unique_id}/answer/", 504, path={"unique_id": "{ring}"}),
    probe(f"POST {CM}answer", 504, query={"uniqueId": "{ring_too}"}),
    probe(
        "POST /api/v1/calls/{unique_id}/recording/{action}/",
        504,
        path={"unique_id": "{unrecorded}", "action": "start"},
    ),
    probe(f"POST {CM}start", 504, query={"extenOrUniqueId": "{unrecorded_too}"}),
    probe(f"POST {CM}stop", 504, query={"extenOrUniqueId": "{recording}"}),
    probe(f"POST {CM}pause", 504, query={"extenOrUniqueId": "{recording_too}"}),
    probe(f"POST {CM}resume", 504, query={"extenOrUniqueId": "{paused}"}),
]
# On an app whose PBX refuses to originate (an Asterisk with a channel template it rejects).
REFUSING_PBX_PROBES: list[Probe] = [
    probe("POST /api/v1/calls/", 409, json={"extension": "101", "number": "0390001234", "tenantId": "t1"}),
    probe(f"POST {CM}dial", 409, query=DIAL),
    probe(f"POST {CM}answer", 200, query={"uniqueId": "{ringing}"}),  # the PBX's inbound call
    probe("POST /api/v1/calls/{unique_id}/answer/", 200, path={"unique_id": "{ringing_too}"}),
]


def _path_names(operation: str) -> list[str]:
    """The path parameters of an operation named as the OpenAPI does ("GET /api/v1/x/{id}/")."""
    return [part[1:-1] for part in operation.split("/") if part.startswith("{")]


def _nul_probes(documented: dict[str, set[int]]) -> list[Probe]:
    """A NUL character in a path parameter: 400 wherever the documentation says 400 (a NUL is
    invalid anywhere; PostgreSQL could not even store it)."""
    probes = []
    for operation, statuses in documented.items():
        names = _path_names(operation)
        if 400 in statuses and names:
            probes.append(probe(operation, 400, path={**dict.fromkeys(names, "1"), names[-1]: NUL}))
    return probes


def _long_query_probes(documented: dict[str, set[int]]) -> list[Probe]:
    """A query string past 8 KiB: 414 on every operation, before any credential is looked at."""
    probes = []
    for operation, statuses in documented.items():
        assert 414 in statuses, f"{operation} does not document the request limits' 414"
        names = _path_names(operation)
        probes.append(
            probe(
                operation,
                414,
                "anonymous",
                path=dict.fromkeys(names, "1"),
                query={"q": "x" * (MAX_QUERY_BYTES + 1)},
            )
        )
    return probes


LOGINS = ("POST /api/v1/auth/login/", "POST /api/v1/login/")


def _limited_probes(documented: dict[str, set[int]]) -> list[Probe]:
    """On an app allowing one request a minute per credential and one failed sign-in per address:
    a first request passes, every later one is 429 (whatever its parameters)."""
    probes = [
        probe("GET /api/v1/settings/", 200),
        # One failed sign-in spends the address's budget for every way of signing in.
        *[
            probe(operation, status, json={"username": "x", "password": "y"})
            for operation, status in zip((LOGINS[0], *LOGINS), (401, 429, 429), strict=True)
        ],
    ]
    for operation, statuses in documented.items():
        if 429 in statuses and operation not in LOGINS:
            names = _path_names(operation)
            probes.append(probe(operation, 429, path=dict.fromkeys(names, "1")))
    return probes


def _run_probes(
    target: Target, operations: dict[str, Any], probes: list[Probe], outcome: Outcome
) -> list[str]:
    """Send each probe; its response is checked against the documentation like the fuzzer's. The
    probes that were not answered the status they aim at are returned."""
    missed = []
    ids = target.world.ids
    for aimed in probes:
        operation = operations[aimed.operation]
        path = {name: value.format(**ids) for name, value in aimed.path}
        query = {name: value.format(**ids) for name, value in aimed.query}
        headers = {**target.world.headers[aimed.kind], **dict(aimed.headers)}
        body: dict[str, Any] = {}
        if aimed.json is not None:
            body["json"] = aimed.json
        if aimed.content is not None:
            body["content"] = aimed.content
            headers["Content-Type"] = aimed.media
        url = operation.path.format(**{name: quote(value, safe="@") for name, value in path.items()})
        url = f"{aimed.scheme}://testserver{url}"
        response = target.client.request(
            aimed.method or operation.method.upper(), url, params=query or None, headers=headers, **body
        )
        outcome.record(operation.Case(path_parameters=path), aimed.kind, response, CONFORMANCE)
        if response.status_code != aimed.status:
            missed.append(
                f"{aimed.operation} [{aimed.kind}] aimed at {aimed.status}, got {response.status_code}: "
                f"{response.text[:200]}"
            )
    return missed


@dataclass
class Run:
    outcome: Outcome
    documented: dict[str, set[int]]
    missed: list[str]  # probes not answered the status they aim at


_RUNS: dict[str, Run] = {}


@pytest.fixture
def fuzz_run(
    database_url: str,
    fuzz_settings: Settings,
    fresh_database: Callable[[], str],
    request: pytest.FixtureRequest,
) -> Run:
    """The fuzzing run on this database, then the probes; the tests of this module share it (once
    per process and database)."""
    engine = request.node.callspec.params["database_url"]
    if engine not in _RUNS:
        _RUNS[engine] = _run(fuzz_settings, fresh_database)
    return _RUNS[engine]


def _asterisk(port: int) -> dict[str, Any]:
    return {
        "pbx": "asterisk",
        "ami_port": port,
        "ami_username": "switchboard",
        "ami_secret": SecretStr(AMI_SECRET),
    }


def _ringing_call(target: Target, pbx: ServerThread) -> str:
    """An inbound call ringing on extension 101, once the app has heard of it."""
    unique_id: str = pbx.call(lambda: pbx.server.inject_inbound("101", "0390009999"))
    headers = target.world.headers["global_key"]
    deadline = time.monotonic() + 10
    while target.client.get(f"/api/v1/calls/{unique_id}/", headers=headers).json().get("state") != "Ringing":
        assert time.monotonic() < deadline, "the inbound call was not recorded"
        time.sleep(0.02)
    return unique_id


def _frozen_pbx_calls(target: Target, pbx: ServerThread) -> None:
    """The calls FROZEN_PBX_PROBES name, ringing on 101: some recording, one paused."""
    ids, headers = target.world.ids, target.world.headers["global_key"]
    for name in ("hang", "hang_too", "ring", "ring_too", "unrecorded", "unrecorded_too"):
        ids[name] = _ringing_call(target, pbx)
    for name, actions in (
        ("recording", ["start"]),
        ("recording_too", ["start"]),
        ("paused", ["start", "pause"]),
    ):
        ids[name] = _ringing_call(target, pbx)
        for action in actions:
            done = target.client.post(f"/api/v1/calls/{ids[name]}/recording/{action}/", headers=headers)
            assert done.status_code == 200, done.text


@contextlib.contextmanager
def _on_asterisk(
    settings: Settings, fresh_database: Callable[[], str], update: dict[str, Any]
) -> Iterator[tuple[Target, ServerThread]]:
    """An app with the directory world, logged in to an in-test Asterisk of its own."""
    pbx = ServerThread(AmiServer(username="switchboard", secret=AMI_SECRET))
    pbx.call(pbx.server.start)
    try:
        target = Target(
            settings.model_copy(update=_asterisk(pbx.server.port) | update),
            fresh_database,
            build_directory_world,
        )
        target.start()
        try:
            _wait_for_pbx(target)
            yield target, pbx
        finally:
            target.stop()
    finally:
        pbx.close()


def _wait_for_pbx(target: Target) -> None:
    deadline = time.monotonic() + 10
    while target.client.get("/readyz").json()["checks"]["pbx"] != "ok":
        assert time.monotonic() < deadline, "the AMI login did not happen"
        time.sleep(0.02)


def _run(settings: Settings, fresh_database: Callable[[], str]) -> Run:
    target = Target(settings, fresh_database)
    target.start()
    try:
        document = target.client.get(OPENAPI).json()
        augmented = _document(document)
        outcome = _fuzz(target, augmented)
        operations = {
            result.ok().label: result.ok()
            for result in schemathesis.openapi.from_dict(augmented).get_all_operations()
        }
        documented = {
            f"{method.upper()} {path}": {int(status) for status in operation["responses"]}
            for path, operations_ in document["paths"].items()
            for method, operation in operations_.items()
            if not _is_get_twin(operation)
        }
        target.stop()
        target.start()  # the probes expect the world as built
        waited, idempotency.WAIT_SECONDS = idempotency.WAIT_SECONDS, 0.0  # the 409 probes: at once
        try:
            missed = _run_probes(
                target,
                operations,
                [*_nul_probes(documented), *_long_query_probes(documented), *PROBES],
                outcome,
            )
        finally:
            idempotency.WAIT_SECONDS = waited
    finally:
        target.stop()
    limits = {"requests_per_minute": 1, "auth_failures_per_minute": 1}
    limited = Target(settings.model_copy(update=limits), fresh_database, build_bare_world)
    limited.start()
    try:
        missed += _run_probes(limited, operations, _limited_probes(documented), outcome)
    finally:
        limited.stop()
    with refused_port() as port:
        down = Target(settings.model_copy(update=_asterisk(port)), fresh_database, build_pbx_down_world)
        down.start()
        try:
            missed += _run_probes(down, operations, PBX_DOWN_PROBES, outcome)
        finally:
            down.stop()
        # /readyz with the database away (any URL that refuses connections).
        url = f"postgresql://switchboard@127.0.0.1:{port}/switchboard"
        app = create_app(settings.model_copy(update={"database_url": url}))
        address = ("127.0.0.1", 50000)
        with TestClient(
            app, base_url="https://testserver", client=address, raise_server_exceptions=False
        ) as client:
            ready = client.get("/readyz")
        outcome.record(operations["GET /readyz"].Case(), "anonymous", ready, CONFORMANCE)
        if ready.status_code != 503:
            missed.append(f"GET /readyz with the database away: {ready.status_code} {ready.text[:200]}")
    # no "/" in the channel template: Originate refuses it
    with _on_asterisk(settings, fresh_database, {"ami_channel": "PJSIP"}) as (target, pbx):
        target.world.ids["ringing"] = _ringing_call(target, pbx)
        target.world.ids["ringing_too"] = _ringing_call(target, pbx)
        missed += _run_probes(target, operations, REFUSING_PBX_PROBES, outcome)
    waited, asterisk.ACTION_TIMEOUT = asterisk.ACTION_TIMEOUT, 0.3
    try:
        with _on_asterisk(settings, fresh_database, {}) as (target, pbx):
            _frozen_pbx_calls(target, pbx)
            pbx.server.freeze()
            try:
                missed += _run_probes(target, operations, FROZEN_PBX_PROBES, outcome)
            finally:
                pbx.loop.call_soon_threadsafe(pbx.server.resume)
    finally:
        asterisk.ACTION_TIMEOUT = waited
    return Run(outcome, documented, missed)


@pytest.fixture(autouse=True)
def _quiet_logs() -> Iterator[None]:
    """The app logs every 4xx refusal; tens of thousands of them only slow the run down."""
    logging.disable(logging.WARNING)
    yield
    logging.disable(logging.NOTSET)


@pytest.mark.parametrize("database_url", DATABASES, indirect=True)
def test_every_operation_answers_within_its_documentation(fuzz_run: Run) -> None:
    """No 5xx, and every status code, content type and body is the one the OpenAPI documents."""
    outcome = fuzz_run.outcome
    assert set(outcome.observed) == set(fuzz_run.documented), "an operation was not fuzzed"
    assert outcome.requests >= len(fuzz_run.documented) * len(KINDS) * POSITIVE
    assert not outcome.failures, f"{len(outcome.failures)} failures:\n" + "\n".join(outcome.failures.values())


@pytest.mark.parametrize("database_url", DATABASES, indirect=True)
def test_every_documented_status_is_reached(fuzz_run: Run) -> None:
    """Each status an operation documents was answered at least once, to the fuzzer or to a
    targeted request: a documented status nothing can produce is a documentation bug."""
    observed = fuzz_run.outcome.observed
    missing = sorted(
        (operation, status)
        for operation, statuses in fuzz_run.documented.items()
        for status in statuses - observed.get(operation, set())
    )
    assert not missing, (
        f"{len(missing)} documented statuses never answered:\n"
        + "\n".join(f"{operation} {status}" for operation, status in missing)
        + "\nprobes that missed their status:\n"
        + "\n".join(fuzz_run.missed)
    )


def test_numbers_and_text_no_database_can_hold_are_invalid_input(api: TestClient) -> None:
    """Found by this fuzzer: such values reached the drivers and came back as 500s (SQLite binds no
    integer past 2**63, asyncpg none past 2**31 for an INTEGER column, PostgreSQL no NUL)."""
    make_tree(api)
    template = created(api.post("/api/v1/tenants/t1/campaign-templates/", json={"name": "T"}))["id"]
    campaign = created(api.post("/api/v1/tenants/t1/campaigns/", json={"name": "C", "templateId": template}))
    huge, past_int32, superscript = str(2**64), str(2**31), "\u00b2"  # "²".isdigit(), yet int("²") fails
    after = encode_cursor("9" * 30)
    refused = [
        api.get(f"/api/v1/webhooks/{huge}/"),
        api.get(f"/api/v1/webhooks/{past_int32}/"),
        api.get(f"/api/v1/recordings/{huge}/"),
        api.get(f"/api/v1/tenants/t1/campaign-templates/{huge}/"),
        api.get("/api/v1/tenants/t1/campaigns/", params={"templateId": huge}),
        api.get(f"/api/v1/tenants/t1/campaigns/{campaign['id']}/leads/{past_int32}/"),
        api.get(f"/api/v1/tenants/t1/campaigns/{campaign['id']}/leads/", params={"cursor": after}),
        api.post("/api/v1/calls/", json={"extension": "101", "number": "0390001234", "campaignId": 2**64}),
        api.get("/api/v1/calls/", params={"cursor": after}),
        api.get("/api/v1/recordings/", params={"cursor": after}),
        api.get("/api/v1/audit/", params={"cursor": superscript}),
        api.get("/api/v1/audit/", params={"cursor": "9" * 30}),
        api.post(f"{CAMPAIGN_API}getCampaignList", params={"fTemplateId": past_int32}),
        api.post(f"{CAMPAIGN_API}getCampaignList", params={"fTemplateId": superscript}),
        api.post(f"{CM}dial", params={"extenOrUniqueId": "101", "number": "0390001234", "campaignId": huge}),
        api.get("/api/v1/tenants/t1%00/"),
        api.post("/api/v1/tenants/", json={"tenantId": "t\u00002", "type": "Enterprise"}),
    ]
    assert [(r.request.url.path, r.status_code) for r in refused if r.status_code != 400] == []


def test_a_nul_in_a_refused_request_does_not_stop_the_audit_log(api: TestClient) -> None:
    """The audit entry of a refusal holds the request's path: with a NUL in it, the database
    refused the entry, and every flush after it, so nothing more was ever written. A NUL in the
    path is now refused (400) before any route or audit sees it; the log goes on."""
    assert api.get("/api/v1/no-such-route%00/").status_code == 400  # refused before any route is looked up
    assert api.get("/api/v1/tenants/no-such-tenant/").status_code == 404
    deadline = time.monotonic() + 5
    while True:
        answer = api.get("/api/v1/audit/", params={"decision": "deny"})
        assert answer.status_code == 200, answer.text
        objects = [entry["object"] for entry in answer.json()["auditEntries"]]
        if "/api/v1/tenants/no-such-tenant/" in objects:
            break
        assert time.monotonic() < deadline, objects
        time.sleep(0.05)
    assert not [entry for entry in objects if "no-such-route" in entry]
