"""Existence oracles: usernames and default-domain ids are unique system-wide, so each tenant owns
a namespace (`<tenantId>.<name>`). A name outside one's own is refused by its form alone — the same
400, byte for byte, whether or not another tenant (or the system) holds it, one by one or in a
check-only import — and a 409 inside one's namespace is only ever about one's own objects."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.testclient import TestClient

from switchboard.bulk import jobs
from tests.support.access_world import build_world, login, make_account
from tests.support.bulk import IMPORT, bulk_user, finished
from tests.support.factories import created, make_user, user_body

ACCOUNTS = "/api/v1/accounts/"
T1_USERS = "/api/v1/tenants/t1/groups/g1/users/"
T2_USERS = "/api/v1/tenants/t2/groups/g1/users/"
T2_IVRS = "/api/v1/tenants/t2/groups/g1/services/ivrs/"
DEFAULT_DOMAIN = "switchboard.local"  # the system setting's initial value


@dataclass
class Oracles:
    """t1's names that t2's administrator must not learn about, and who asks."""

    api: TestClient  # the global key
    t2_admin: dict[str, str]
    t1_principals: dict[str, dict[str, str]]


@pytest.fixture
def oracles(api: TestClient, global_key: str) -> Iterator[Oracles]:
    """build_world, plus names held in t1 and by the system: t1's account `t1.bob` and end user
    `t1.alice` (default domain), its IVR `t1.menu`, and names with no namespace: the system
    account `ops`, t1's account `plainacct`, end user `plain` and IVR `plainivr`."""
    world = build_world(api, global_key)
    make_account(api, "t1.bob", "user", "t1", "g1")
    make_account(api, "ops", "system")
    make_account(api, "plainacct", "user", "t1", "g1")
    make_user(api, "t1", "g1", "t1.alice")
    make_user(api, "t1", "g1", "plain")
    for name in ("t1.menu", "plainivr"):
        created(api.post("/api/v1/tenants/t1/groups/g1/services/ivrs/", json=_ivr(name)))
    t1 = {name: world.headers[name] for name in ("tenant_admin", "group_admin", "tenant_key")}
    yield Oracles(api, {"Authorization": f"Bearer {login(api, 'ta2')}"}, t1)
    assert jobs.join_running(20), "an import job was still running"


def _account(username: str, tenant: str = "t2", role: str = "user") -> dict[str, Any]:
    body: dict[str, Any] = {"username": username, "password": "correct horse battery staple", "role": role}
    return {**body, "tenantId": tenant} if tenant else body


def _ivr(service_user_id: str) -> dict[str, Any]:
    return {"serviceUserId": service_user_id, "serviceInstanceProfile": {"name": "IVR"}}


def _same_refusal(responses: list[Any], field: str) -> None:
    """Every response is the one 400, byte for byte, and it states the rule for that field."""
    first = responses[0]
    assert first.status_code == 400, first.text
    assert first.json()["errors"][0]["field"] == field
    assert "take the form t2.<name>" in first.json()["errors"][0]["reason"]
    for other in responses[1:]:
        assert (other.status_code, other.content) == (first.status_code, first.content)


def test_account_names_in_another_tenants_namespace_answer_alike(oracles: Oracles) -> None:
    """t2's admin asks for t1.bob (t1 has it), t1.carol (t1 has not) and t9.carol (no such tenant)."""
    ask = oracles.api.post
    responses = [
        ask(ACCOUNTS, json=_account(name), headers=oracles.t2_admin)
        for name in ("t1.bob", "t1.carol", "t9.x")
    ]
    _same_refusal(responses, "username")


def test_account_names_without_namespace_answer_alike(oracles: Oracles) -> None:
    """`ops` (a system account) and `plainacct` (a t1 account) exist, `nobody` does not."""
    responses = [
        oracles.api.post(ACCOUNTS, json=_account(name), headers=oracles.t2_admin)
        for name in ("ops", "plainacct", "nobody")
    ]
    _same_refusal(responses, "username")


@pytest.mark.parametrize(
    "held",
    [
        ["t1.alice", f"t1.alice@{DEFAULT_DOMAIN}", "t1.zed", f"t9.zed@{DEFAULT_DOMAIN}"],
        ["plain", f"plain@{DEFAULT_DOMAIN}", "unheld"],
    ],
    ids=["other-namespace", "no-namespace"],
)
def test_default_domain_user_ids_answer_alike(oracles: Oracles, held: list[str]) -> None:
    responses = [
        oracles.api.post(T2_USERS, json=user_body(user_id), headers=oracles.t2_admin) for user_id in held
    ]
    _same_refusal(responses, "userId")
    assert f"@{DEFAULT_DOMAIN}" in responses[0].json()["detail"]


def test_default_domain_service_user_ids_answer_alike(oracles: Oracles) -> None:
    names = ["t1.menu", "t1.other", "plainivr", "unheldivr"]
    responses = [oracles.api.post(T2_IVRS, json=_ivr(name), headers=oracles.t2_admin) for name in names]
    _same_refusal(responses, "serviceUserId")


@pytest.mark.parametrize("principal", ["tenant_admin", "group_admin", "tenant_key"])
def test_every_tenant_principal_is_held_to_its_namespace(oracles: Oracles, principal: str) -> None:
    """Group admins and tenant keys are bound to a tenant as its admins are: t1's name `t2.x`
    and a bare `solo` are refused alike; `t1.solo` is theirs to give."""
    headers = oracles.t1_principals[principal]
    path = T1_USERS
    refused = [oracles.api.post(path, json=user_body(name), headers=headers) for name in ("t2.x", "solo")]
    assert {(r.status_code, r.json()["errors"][0]["field"]) for r in refused} == {(400, "userId")}
    assert refused[0].content == refused[1].content
    assert "take the form t1.<name>" in refused[0].text
    created(oracles.api.post(path, json=user_body("t1.solo"), headers=headers))


def test_check_only_import_is_no_bulk_oracle(oracles: Oracles) -> None:
    """Held and free names, row by row in one check-only import by t2's admin: each row's problem
    reads the same, and nothing tells the held ones apart."""
    names = ["t1.alice", "t1.zed", "plain", "unheld", f"t1.alice@{DEFAULT_DOMAIN}", f"t9.q@{DEFAULT_DOMAIN}"]
    rows = [bulk_user(name, "t2", "g1") for name in names]
    body = "".join(json.dumps(row) + "\n" for row in rows).encode()
    headers = {**oracles.t2_admin, "Content-Type": "application/x-ndjson"}
    started = oracles.api.post(IMPORT, content=body, headers=headers, params={"checkOnly": "true"})
    assert started.status_code == 202, started.text
    job = finished(oracles.api, started.json()["id"], oracles.t2_admin)
    problems = {problem["line"]: (problem["field"], problem["reason"]) for problem in job["problems"]}
    assert sorted(problems) == list(range(1, len(rows) + 1))
    assert len(set(problems.values())) == 1, problems
    (field, reason) = problems[1]
    assert field == "userId"
    assert "take the form t2.<name>" in reason


def test_inside_its_namespace_a_tenant_meets_only_its_own_names(oracles: Oracles) -> None:
    """Nobody, the system included, gives a name in t2's namespace to anything but t2's objects
    (400), so t2's admin then creates those very names (201) and a 409 is about its own."""
    api, t2_admin = oracles.api, oracles.t2_admin
    refused = [
        api.post(ACCOUNTS, json=_account("t2.eve", "t1")),
        api.post(ACCOUNTS, json=_account("t2.root", "", "system")),
        api.post(T1_USERS, json=user_body("t2.dan")),
        api.post("/api/v1/tenants/t1/groups/g1/services/ivrs/", json=_ivr("t2.menu")),
    ]
    assert [r.status_code for r in refused] == [400] * 4, [r.text for r in refused]
    assert "are given to tenant t2's objects only" in refused[0].json()["errors"][0]["reason"]
    for name in ("t2.eve", "t2.root"):
        created(api.post(ACCOUNTS, json=_account(name), headers=t2_admin))
    created(api.post(T2_USERS, json=user_body("t2.dan"), headers=t2_admin))
    created(api.post(T2_IVRS, json=_ivr("t2.menu"), headers=t2_admin))
    again = api.post(ACCOUNTS, json=_account("t2.eve"), headers=t2_admin)
    assert again.status_code == 409, again.text
    # The system still names t2's objects in t2's namespace, and its own outside every tenant's.
    created(api.post(ACCOUNTS, json=_account("t2.sam")))
    created(api.post(ACCOUNTS, json=_account("nobody.root", "", "system")))


def test_a_dotted_tenant_id_owns_only_its_own_namespace(oracles: Oracles) -> None:
    """The namespace is what precedes the LAST dot: with tenants `t2` and `t2.x`, `t2.x.bob`
    belongs to `t2.x`, so `t2`'s admin cannot take it (and `t2.x`'s objects never collide with t2's)."""
    api = oracles.api
    created(api.post("/api/v1/tenants/", json={"tenantId": "t2.x", "type": "Enterprise"}))
    refused = api.post(ACCOUNTS, json=_account("t2.x.bob"), headers=oracles.t2_admin)
    assert refused.status_code == 400, refused.text
    assert api.post(ACCOUNTS, json=_account("t2.x.bob")).status_code == 400  # the system: not in t2
    created(api.post(ACCOUNTS, json=_account("t2.x.bob", "t2.x")))


def test_a_namespace_keeps_its_tenants_objects_through_moves_and_new_tenants(oracles: Oracles) -> None:
    """Moving t1.bob to t2 would put a t2 account in t1's namespace (400); a new tenant t3 cannot
    be created while names of its namespace are held elsewhere (409, to the system alone), and
    can once they are gone."""
    api = oracles.api
    moved = api.patch(f"{ACCOUNTS}t1.bob/", json={"tenantId": "t2", "groupId": "g1"})
    assert moved.status_code == 400, moved.text
    assert api.get(f"{ACCOUNTS}t1.bob/").json()["tenantId"] == "t1"
    created(api.post(ACCOUNTS, json=_account("ops2", "t1")))  # no namespace: moves freely
    assert api.patch(f"{ACCOUNTS}ops2/", json={"tenantId": "t2", "groupId": None}).status_code == 200
    holders = [
        (ACCOUNTS, _account("t3.root", "", "system"), f"{ACCOUNTS}t3.root/"),
        (T1_USERS, user_body("t3.x"), f"{T1_USERS}t3.x/"),
    ]
    for path, body, made in holders:
        created(api.post(path, json=body))
        refused = api.post("/api/v1/tenants/", json={"tenantId": "T3", "type": "Enterprise"})
        assert refused.status_code == 409, refused.text
        assert "rename them first" in refused.json()["detail"]
        assert api.delete(made).status_code == 204
    created(api.post("/api/v1/tenants/", json={"tenantId": "t3", "type": "Enterprise"}))
    # A dotted name further down is another namespace's (t3.x's), not t3's.
    created(api.post(ACCOUNTS, json=_account("t3.x.y", "", "system")))
