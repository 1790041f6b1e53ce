"""Enumeration: "missing" and "not yours" cannot be told apart — one code path makes every 404,
every endpoint that takes an object id answers both byte for byte the same, and in the same time."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from starlette.testclient import TestClient

from switchboard.bulk import jobs
from switchboard.errors import NotFound
from tests.support.access_world import build_world, login, make_account
from tests.support.calls import dial, noojee
from tests.support.factories import created
from tests.support.intensity import SOAK, scaled
from tests.support.timing import compare
from tests.support.webhook_receiver import CLOSED_HOOK

SOURCE = Path(__file__).resolve().parents[2] / "switchboard"
NOOJEE = "/servicemanager/rest"
# Response headers that differ between any two requests.
VOLATILE_HEADERS = {"date", "x-request-id"}
SERVICES = ("ivrs", "call_centers", "hunt_groups", "route_points")


# -- one code path ----------------------------------------------------------------------------


def _violations(path: Path, name: str) -> Iterator[str]:
    """Places in a module that could make a 404 without NotFound."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        where = f"{name}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.keyword) and node.arg in ("status_code", "status"):
            if isinstance(node.value, ast.Constant) and node.value.value == 404:
                yield f"{where}: status 404 given directly"
        elif isinstance(node, ast.Call) and node.args:
            first = node.args[0]
            # errors(400, 404, ...) only documents statuses in the OpenAPI.
            if isinstance(first, ast.Constant) and first.value == 404 and ast.unparse(node.func) != "errors":
                yield f"{where}: {ast.unparse(node.func)}(404, ...)"
        elif isinstance(node, ast.Attribute) and node.attr.startswith("HTTP_404"):
            yield f"{where}: {node.attr}"
        elif isinstance(node, ast.ClassDef) and node.name != "NotFound":
            for statement in node.body:
                value = getattr(statement, "value", None)
                if isinstance(value, ast.Constant) and value.value == 404:
                    yield f"{where}: class {node.name} has status 404"


def test_every_404_is_made_by_not_found(tmp_path: Path) -> None:
    modules = sorted(SOURCE.rglob("*.py"))
    assert len(modules) > 50
    found = [v for path in modules for v in _violations(path, str(path.relative_to(SOURCE)))]
    assert found == []
    # The scan finds what it looks for (a check that cannot fail proves nothing).
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from starlette.exceptions import HTTPException\n"
        "from starlette.responses import Response\n"
        "def page():\n    return Response(status_code=404)\n"
        "def other():\n    raise HTTPException(404)\n"
        "class Gone(Exception):\n    status = 404\n"
    )
    assert len(list(_violations(probe, "probe.py"))) == 3
    # Whatever reason a handler gives, the client sees one detail: the reason is for the audit log.
    assert NotFound("tenant t1 is not yours").body() == NotFound("no tenant t9").body() == NotFound().body()


# -- byte identity ----------------------------------------------------------------------------


@dataclass
class Objects:
    """Real ids of tenant t1's objects (none visible to t2's administrator), and t2's credential."""

    ids: dict[str, str]
    headers: dict[str, str]


def _t1_objects(api: TestClient, global_key: str) -> Objects:
    build_world(api, global_key)
    t1 = "/api/v1/tenants/t1"
    for kind in SERVICES[1:]:
        created(
            api.post(
                f"{t1}/groups/g1/services/{kind}/",
                json={"serviceUserId": f"{kind}@t1.example", "serviceInstanceProfile": {"name": kind}},
            )
        )
    created(api.post(f"{t1}/groups/g1/departments/", json={"name": "Desk"}))
    created(api.post("/api/v1/local/resellers/", json={"name": "R1"}))  # ta2b, t2's admin, does not see it
    created(api.post(f"{t1}/teams/", json={"name": "A"}))
    created(api.post(f"{t1}/teams/A/members/", json={"username": "eu1"}), 200)
    shift = {"username": "eu1", "start": "2026-12-07T09:00:00Z", "end": "2026-12-07T10:00:00Z"}
    override = created(api.post(f"{t1}/teams/A/roster/overrides/", json=shift))
    fields = {"leadFields": [{"name": "phone", "type": "phone"}]}
    template = created(api.post(f"{t1}/campaign-templates/", json={"name": "TA", "team": "A", **fields}))
    campaign = created(api.post(f"{t1}/campaigns/", json={"name": "cTA", "templateId": template["id"]}))
    leads = api.post(
        f"{t1}/campaigns/{campaign['id']}/leads/", json={"leads": [{"fields": {"phone": "0390001111"}}]}
    )
    assert leads.status_code in (200, 201), leads.text
    lead = api.get(f"{t1}/campaigns/{campaign['id']}/leads/").json()["leads"][0]
    allocation = api.get(f"{t1}/campaigns/{campaign['id']}/allocations/").json()["allocations"][0]
    created(api.post(f"{t1}/dnc/", json={"number": "+61 3 9000 0009"}))
    call = dial(api, extenOrUniqueId="103", number="0390001234", tenantId="t1")
    assert noojee(api, "start", extenOrUniqueId=call, tenantId="t1").json()["Code"] == 0
    recording = api.get("/api/v1/recordings/", params={"uniqueId": call}).json()["recordings"][0]
    key = created(api.post("/api/v1/accounts/ta1/api-keys/", json={"name": "crm"}))
    hook = created(
        api.post("/api/v1/webhooks/", json={"url": f"{CLOSED_HOOK}/h", "eventTypes": ["*"], "tenantId": "t1"})
    )
    job = api.post(
        "/api/v1/import/",
        content=b'{"kind": "tenant", "tenantId": "t1", "type": "Enterprise"}\n',
        headers={"Content-Type": "application/x-ndjson", "Authorization": f"Bearer {login(api, 'ta1')}"},
    )
    assert job.status_code == 202, job.text
    assert jobs.join_running(20)
    make_account(api, "ta2b", "tenant_admin", "t2")
    return Objects(
        ids={
            "tenant_id": "t1",
            "group_id": "g1",
            "user_id": "u1@t1.example",
            "domain": "t1.example",
            "name": "Ops",
            "template_id": str(template["id"]),
            "campaign_id": str(campaign["id"]),
            "lead_id": str(lead["id"]),
            "number": "+61390000009",
            "unique_id": call,
            "action": "pause",
            "recording_id": str(recording["id"]),
            "username": "ta1",
            "key_id": str(key["id"]),
            "webhook_id": str(hook["id"]),
            "job_id": job.json()["id"],
            "override_id": str(override["id"]),
            "allocation_id": str(allocation["id"]),
        },
        headers={"Authorization": f"Bearer {login(api, 'ta2b')}"},
    )


def _value(path: str, param: str, ids: dict[str, str]) -> str:
    """The t1 object a path parameter names on this path."""
    if param == "user_id":
        for kind in SERVICES:
            if f"/services/{kind}/" in path:
                return "ivr@t1.example" if kind == "ivrs" else f"{kind}@t1.example"
    if param == "name" and "/groups/{group_id}/departments/" in path:
        return "Desk"
    if param == "name" and "/teams/" in path:
        return "A"
    if param == "name" and "/local/resellers/" in path:
        return "R1"
    if param == "username" and "/members/" in path:
        return "eu1"
    return ids[param]


MISSING = {"action": None, "job_id": "f" * 32}  # the action names no object: never "missing"
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "users/"): {"userId": "new@t1.example", "lastName": "N", "firstName": "N"},
    ("PATCH", "users/{user_id}/"): {"title": "x"},
    ("PATCH", "{tenant_id}/"): {"name": "x"},
    ("POST", "domains/"): {"domain": "new.t1.example"},
    ("POST", "groups/"): {"groupId": "new"},
    ("PATCH", "{group_id}/"): {"groupName": "x"},
    ("POST", "departments/"): {"name": "New"},
    ("PATCH", "departments/{name}/"): {"name": "Renamed"},
    ("POST", "teams/"): {"name": "N"},
    ("POST", "members/"): {"username": "eu1"},
    ("POST", "campaign-templates/"): {"name": "T"},
    ("PATCH", "{template_id}/"): {"dialMode": "progressive"},
    ("POST", "campaigns/"): {"name": "c", "templateId": 1},
    ("PATCH", "{campaign_id}/"): {"status": "paused"},
    ("POST", "leads/"): {"leads": [{"externalId": "y"}]},
    ("PATCH", "{lead_id}/"): {"priority": 5},
    ("POST", "dnc/"): {"number": "+61 3 9000 0008"},
    ("PUT", "dialling-policy/"): {"allowed": ["0\\d+"], "maxConcurrentCalls": 5},
    ("PATCH", "{username}/"): {"displayName": "x"},
    ("POST", "api-keys/"): {"name": "k"},
    ("POST", "tenant-keys/"): {"name": "k"},
    ("PATCH", "{key_id}/"): {"name": "k2"},
    ("PATCH", "{webhook_id}/"): {"description": "d"},
    ("PUT", "resellers/{name}/"): {"externalName": "x"},
    ("POST", "admins/"): {"username": "radm", "password": "long enough password"},
    ("PUT", "roster/"): {"members": []},
    ("POST", "overrides/"): {
        "username": "eu1",
        "start": "2026-12-07T09:00:00Z",
        "end": "2026-12-07T10:00:00Z",
    },
}


def _body(method: str, path: str) -> Any:
    if method in ("GET", "DELETE"):
        return None
    for (verb, tail), body in BODIES.items():
        if verb == method and path.endswith(f"/{tail}"):
            return body
    if "/services/" in path:
        if method == "POST":
            return {"serviceUserId": "new@t1.example", "serviceInstanceProfile": {"name": "S"}}
        return {"serviceInstanceProfile": {"name": "S2"}}
    return None


def _absent(value: str) -> str:
    """An id of the same shape that names nothing (so it is looked up, not refused as malformed)."""
    return re.sub(r"\d", "9", value) if re.search(r"\d", value) else f"no-{value}"


@dataclass(frozen=True)
class Probe:
    """One operation named twice: with t1's real ids (forbidden) and with one id that is missing."""

    method: str
    forbidden: str
    missing: list[str]
    body: Any


def _probes(api: TestClient, objects: Objects) -> list[Probe]:
    probes = []
    schema = api.get("/api/v1/openapi.json").json()
    for template, operations in schema["paths"].items():
        params = re.findall(r"{(\w+)}", template)
        if not params:
            continue
        for method in operations:
            real = {p: _value(template, p, objects.ids) for p in params}
            missing = []
            for gone in params:
                if MISSING.get(gone, "") is None:
                    continue
                values = {
                    **real,
                    gone: MISSING.get(gone, _absent(real[gone])),
                }
                missing.append(template.format(**values))
            probes.append(
                Probe(method.upper(), template.format(**real), missing, _body(method.upper(), template))
            )
    # Noojee's methods take their ids in the query string.
    call, campaign, template_id = (
        objects.ids["unique_id"],
        objects.ids["campaign_id"],
        objects.ids["template_id"],
    )
    absent_call = _absent(call)
    for method in ("stop", "start", "pause", "resume", "hangup"):
        probes.append(
            Probe(
                "POST",
                f"{NOOJEE}/CallManagementAPI/{method}?extenOrUniqueId={call}",
                [f"{NOOJEE}/CallManagementAPI/{method}?extenOrUniqueId={absent_call}"],
                None,
            )
        )
    for method in ("insertLeadFast", "updateLeadFast"):
        probes.append(
            Probe(
                "POST",
                f"{NOOJEE}/CampaignAPI/{method}?fTemplateId={template_id}&fCampaignId={campaign}",
                [
                    f"{NOOJEE}/CampaignAPI/{method}?fTemplateId={template_id}&fCampaignId=999999",
                    f"{NOOJEE}/CampaignAPI/{method}?fTemplateId=999999&fCampaignId={campaign}",
                ],
                [{}],
            )
        )
    return probes


def _fingerprint(response: httpx2.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = sorted((k, v) for k, v in response.headers.items() if k.lower() not in VOLATILE_HEADERS)
    return response.status_code, headers, response.content


def test_missing_and_forbidden_are_byte_identical_on_every_endpoint_with_an_id(
    api: TestClient, global_key: str
) -> None:
    objects = _t1_objects(api, global_key)
    probes = _probes(api, objects)
    assert len(probes) > 90  # 89 operations with an id in the path, and 7 of Noojee's
    seen_404: set[bytes] = set()
    failures = []
    for probe in probes:
        forbidden = api.request(probe.method, probe.forbidden, json=probe.body, headers=objects.headers)
        expected = _fingerprint(forbidden)
        if forbidden.status_code != 404:
            failures.append(
                f"{probe.method} {probe.forbidden}: {forbidden.status_code} {forbidden.text[:100]}"
            )
            continue
        seen_404.add(forbidden.content)
        for path in probe.missing:
            missing = api.request(probe.method, path, json=probe.body, headers=objects.headers)
            if _fingerprint(missing) != expected:
                failures.append(f"{probe.method} {path}: {_fingerprint(missing)} != {expected}")
    assert failures == [], "\n".join(failures)
    # Two bodies in all: problem+json and Noojee's envelope, each always the same bytes.
    assert len(seen_404) == 2, seen_404
    # Nothing of t1's was changed by the refused writes.
    system = {"Authorization": f"Bearer {global_key}"}
    assert api.get("/api/v1/tenants/t1/groups/g1/users/u1@t1.example/", headers=system).json()["title"] != "x"
    assert api.get("/api/v1/accounts/ta1/api-keys/", headers=system).json()["apiKeys"][0]["name"] == "crm"


def test_external_id_filters_and_non_empty_deletes_tell_nothing_of_what_the_caller_cannot_see(
    api: TestClient, global_key: str
) -> None:
    """A filter runs inside the caller's view: a value only an invisible object has answers as a
    value nobody has; a delete of an invisible non-empty object is the plain 404, not its 409."""
    world = build_world(api, global_key)
    t1 = "/api/v1/tenants/t1"
    for path in (f"{t1}/", f"{t1}/groups/g1/", f"{t1}/groups/g2/users/u3@t1.example/"):
        assert api.patch(path, json={"externalId1": "secret"}).status_code == 200
    group_admin = world.headers["group_admin"]  # of g1, not g2
    other_tenant = {"Authorization": f"Bearer {login(api, 'ta2')}"}
    for headers, seen, unseen in (
        (other_tenant, "/api/v1/tenants/", "/api/v1/tenants/"),
        (other_tenant, f"{t1}/groups/", "/api/v1/tenants/t9/groups/"),
        (group_admin, f"{t1}/groups/g2/users/", f"{t1}/groups/g9/users/"),
    ):
        hit = api.get(f"{seen}?externalId1=secret", headers=headers)
        miss = api.get(f"{unseen}?externalId1=nobody-has-this", headers=headers)
        assert _fingerprint(hit) == _fingerprint(miss), (seen, hit.text, miss.text)
    for path, missing in (
        (f"{t1}/groups/g1/", f"{t1}/groups/g9/"),
        (f"{t1}/", "/api/v1/tenants/t9/"),
    ):
        for query in ("", "?deleteNonEmpty=1"):
            refused = api.delete(f"{path}{query}", headers=other_tenant)
            absent = api.delete(f"{missing}{query}", headers=other_tenant)
            assert refused.status_code == 404, (path, query, refused.text)
            assert _fingerprint(refused) == _fingerprint(absent)
    assert api.get(f"{t1}/groups/g1/").status_code == 200


# -- timing -----------------------------------------------------------------------------------


def _timed(ids: dict[str, str]) -> set[str]:
    """About five representative reads: a user, a campaign, a call, a webhook, an account."""
    return {
        "/api/v1/tenants/t1/groups/g1/users/u1@t1.example/",
        f"/api/v1/tenants/t1/campaigns/{ids['campaign_id']}/",
        f"/api/v1/calls/{ids['unique_id']}/",
        f"/api/v1/webhooks/{ids['webhook_id']}/",
        "/api/v1/accounts/ta1/",
    }


@pytest.mark.timing
def test_missing_and_forbidden_take_the_same_time(api: TestClient, global_key: str) -> None:
    objects = _t1_objects(api, global_key)
    probes = [p for p in _probes(api, objects) if p.method == "GET"]
    if not SOAK:  # every read in the soak
        probes = [p for p in probes if p.forbidden in _timed(objects.ids)]
        assert len(probes) == len(_timed(objects.ids))
    results = []

    def not_found(response: httpx2.Response) -> None:
        assert response.status_code == 404

    for probe in probes:
        # An object that exists against one that does not, both where the caller cannot look.
        exists, absent = probe.forbidden, probe.missing[-1]
        result = compare(
            lambda path=absent: api.get(path, headers=objects.headers),  # type: ignore[misc]
            lambda path=exists: api.get(path, headers=objects.headers),  # type: ignore[misc]
            pairs=scaled(200, 1000),
            check=not_found,
        )
        results.append((exists, result))
    for path, result in results:
        print(f"{path}: {result}")
    assert [path for path, result in results if not result.same] == []
