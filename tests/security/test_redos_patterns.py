"""ReDoS patterns: a dialling policy's patterns match in linear time, so no stored pattern can stall
the process; a pattern the linear engine cannot run is refused on save with a 400 naming `allowed`."""

from __future__ import annotations

import time

import pytest
from starlette.testclient import TestClient

from tests.support.access_world import build_world
from tests.support.calls import noojee

POLICY = "/api/v1/tenants/t1/dialling-policy/"

# Nested quantifiers: a backtracking engine tries exponentially many splits of a number that fails
# only at its end (the first took 19 s of the server in the attack run, the second about 6 s).
CATASTROPHIC = [("(((\\d+)+)+)+x", "03123456789012"), ("(\\d*\\d*)*x", "031234567890123")]


@pytest.mark.parametrize(("pattern", "number"), CATASTROPHIC)
def test_a_catastrophic_pattern_cannot_stall_a_dial(
    api: TestClient, global_key: str, pattern: str, number: str
) -> None:
    world = build_world(api, global_key)
    stored = api.put(POLICY, json={"allowed": [pattern], "maxConcurrentCalls": 5})
    assert stored.status_code == 200, stored.text
    started = time.monotonic()
    refused = noojee(api, "dial", world.headers["user"], extenOrUniqueId="101", number=number)
    assert refused.status_code == 403
    assert time.monotonic() - started < 2
    assert api.get("/healthz").status_code == 200


@pytest.mark.parametrize(
    "pattern",
    ["(\\d)\\1", "(?=0)\\d+", "(?!1)\\d+", "(?<=0)\\d", "\\d++", "(?P<a>\\d)(?P=a)"],
)
def test_a_pattern_the_linear_engine_cannot_run_is_400_on_save(api: TestClient, pattern: str) -> None:
    tenant = api.post("/api/v1/tenants/", json={"tenantId": "t1", "type": "Enterprise"})
    assert tenant.status_code == 201, tenant.text
    refused = api.put(POLICY, json={"allowed": ["\\d{2,6}", pattern], "maxConcurrentCalls": 1})
    assert refused.status_code == 400, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["errors"][0]["field"] == "allowed"
    assert repr(pattern) in refused.json()["errors"][0]["reason"]
    assert api.get(POLICY).json()["allowed"] != ["\\d{2,6}", pattern]


def test_ordinary_patterns_keep_their_meaning(api: TestClient, global_key: str) -> None:
    world = build_world(api, global_key)
    policy = {"allowed": ["\\+44\\d+", "0[1-8]\\d{8}", "(?:1300|1800)\\d{6}"], "maxConcurrentCalls": 5}
    assert api.put(POLICY, json=policy).status_code == 200
    user = world.headers["user"]
    for allowed in ("+44 20 7946 0000", "0390001234", "1800123456"):
        assert noojee(api, "dial", user, extenOrUniqueId="101", number=allowed).status_code == 200, allowed
    for refused in ("1900123456", "039000123", "+61390001234"):
        assert noojee(api, "dial", user, extenOrUniqueId="101", number=refused).status_code == 403, refused
