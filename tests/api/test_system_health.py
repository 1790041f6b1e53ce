"""Noojee's systemHealth/test: the reference's statistics object with this host's real figures,
the database pool and the PBX link's round trip; for the global key (and tenant keys) only."""

from __future__ import annotations

import os
from typing import Any

from starlette.testclient import TestClient

from switchboard.settings import Settings
from tests.support.access_world import build_world
from tests.support.ami_server import AmiServer
from tests.support.asterisk import AMI_SECRET, ServerThread, asterisk_settings, pbx_ready, wait_until
from tests.support.clients import make_client
from tests.support.server import free_port

HEALTH = "/servicemanager/rest/systemHealth/test"
NUMBERS = ("ioWait", "loadAverage", "cpuPercent", "freeDiskSpacePercent", "steal")
PERCENTS = ("threadPoolUsagePercent", "schedulerPoolUsagePercent")
COUNTS = ("cores", "memoryAvailableMB", "memoryTotalMB", "dbPoolSize", "dbPoolUsage")
TYPES: dict[str, type | tuple[type, ...]] = {
    **dict.fromkeys(NUMBERS + PERCENTS, (int, float)),
    **dict.fromkeys(COUNTS, int),
    **dict.fromkeys(("lastBackupAttempt", "lastBackupSuccess"), str),
    "backupStarting": bool,
    "pingData": dict,
}


def statistics(api: TestClient, headers: dict[str, str] | None = None) -> dict[str, Any]:
    response = api.post(HEALTH, headers=headers or {})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"code", "message", "entities"}  # lower-case, as the reference says
    assert (body["code"], body["message"]) == (0, "OK")
    (entity,) = body["entities"]
    assert set(entity) == set(TYPES)
    for name, kind in TYPES.items():
        assert isinstance(entity[name], kind), (name, entity[name])
        assert kind is not int or not isinstance(entity[name], bool), name
    entity_: dict[str, Any] = entity
    return entity_


def test_the_statistics_are_this_host_s(api: TestClient, global_key: str) -> None:
    entity = statistics(api)
    assert entity["cores"] == os.cpu_count()
    assert 0 < entity["memoryAvailableMB"] <= entity["memoryTotalMB"]
    assert 0 <= entity["freeDiskSpacePercent"] <= 100
    assert 0 <= entity["cpuPercent"] <= 100
    assert 0 <= entity["threadPoolUsagePercent"] <= 100
    assert entity["loadAverage"] >= 0
    assert entity["dbPoolSize"] >= 1
    assert 0 <= entity["dbPoolUsage"] <= entity["dbPoolSize"]
    assert (entity["lastBackupAttempt"], entity["lastBackupSuccess"], entity["backupStarting"]) == (
        "",
        "",
        False,
    )
    assert entity["pingData"] == {"simulated": 0}  # the simulated PBX is in the process


def test_refused_for_user_keys_and_logins_below_system(api: TestClient, global_key: str) -> None:
    world = build_world(api, global_key)
    for principal in ("user_key", "tenant_admin", "group_admin", "user"):
        refused = api.post(HEALTH, headers=world.headers[principal])
        assert refused.status_code == 403, principal
        assert refused.json()["Code"] == -403
    assert api.get(HEALTH).status_code == 405  # POST, like every Noojee method (GET: a setting)


def test_ping_data_is_the_ami_round_trip(settings: Settings, global_key: str) -> None:
    pbx = ServerThread(AmiServer(username="switchboard", secret=AMI_SECRET))
    pbx.call(pbx.server.start)
    try:
        with make_client(asterisk_settings(settings, pbx.server.port)) as api:
            api.headers["Authorization"] = f"Bearer {global_key}"
            wait_until(lambda: pbx_ready(api), "the AMI login")
            ping = statistics(api)["pingData"]
            assert list(ping) == ["127.0.0.1"]
            assert 0 < ping["127.0.0.1"] < 5000
            assert any(action.get("Action") == "Ping" for action in pbx.server.actions)
    finally:
        pbx.close()


def test_ping_data_says_minus_one_when_the_pbx_is_down(settings: Settings, global_key: str) -> None:
    with make_client(asterisk_settings(settings, free_port())) as api:
        api.headers["Authorization"] = f"Bearer {global_key}"
        assert statistics(api)["pingData"] == {"127.0.0.1": -1}
