"""The PBX dropping off the network: every call-control route answers 503 fast, the rest of the API goes
on, and the AMI driver reconnects by itself when the PBX is reachable again."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from switchboard.settings import Settings
from tests.support.access_world import build_world
from tests.support.ami_server import AmiServer
from tests.support.asterisk import AMI_SECRET, ServerThread, asterisk_settings, pbx_ready, wait_until
from tests.support.calls import dial, noojee, wait_state
from tests.support.clients import make_client
from tests.support.factories import created, make_user
from tests.support.intensity import scaled
from tests.support.tcp_proxy import TcpProxy

CUTS = scaled(1, 5)
CUT_SECONDS = scaled(1, 15)  # long cuts drive the driver's reconnection backoff to its 10 s ceiling
FAST_SECONDS = 1.0  # a call-control refusal must not wait for an AMI action timeout (5 s)
RECONNECT_SECONDS = 15.0  # the backoff's ceiling (10 s) and a margin
PBX_AWAY = "The PBX is unavailable; call control will return when it reconnects."
T1 = "/api/v1/tenants/t1"
CAMPAIGN_API = "/servicemanager/rest/CampaignAPI"


@pytest.fixture
def pbx_behind_proxy() -> Iterator[tuple[ServerThread, TcpProxy]]:
    """The in-test Asterisk, reached only through a proxy the test can cut."""
    running = ServerThread(AmiServer(username="switchboard", secret=AMI_SECRET))
    running.call(running.server.start)
    try:
        with TcpProxy("127.0.0.1", running.server.port) as proxy:
            yield running, proxy
    finally:
        running.close()


Call = Callable[[TestClient], Any]
Other = Callable[[TestClient, str], Any]
DIAL = {"extension": "103", "number": "0390001235"}


def _refused_while_away(running: str, paused: str, idle: str) -> list[tuple[str, Call]]:
    """Every call-control route, each on a call whose state allows it (a refusal for the call's state,
    409, comes before the PBX is asked): `running` records, `paused` records paused, `idle` does not."""
    return [
        ("REST pause", lambda api: api.post(f"/api/v1/calls/{running}/recording/pause/")),
        ("Noojee pause", lambda api: noojee(api, "pause", extenOrUniqueId=running)),
        ("REST stop", lambda api: api.post(f"/api/v1/calls/{running}/recording/stop/")),
        ("Noojee stop", lambda api: noojee(api, "stop", extenOrUniqueId=running)),
        ("REST resume", lambda api: api.post(f"/api/v1/calls/{paused}/recording/resume/")),
        ("Noojee resume", lambda api: noojee(api, "resume", extenOrUniqueId=paused)),
        ("REST start", lambda api: api.post(f"/api/v1/calls/{idle}/recording/start/")),
        ("Noojee start", lambda api: noojee(api, "start", extenOrUniqueId=idle)),
        ("REST hangup", lambda api: api.post(f"/api/v1/calls/{running}/hangup/")),
        ("Noojee hangup", lambda api: noojee(api, "hangup", extenOrUniqueId=running)),
        ("REST dial", lambda api: api.post("/api/v1/calls/", json=DIAL)),
        ("Noojee dial", lambda api: noojee(api, "dial", extenOrUniqueId="105", number="0390001236")),
    ]


def _in_turn(live: str) -> list[tuple[str, Call]]:
    """The same routes in an order that works against a healthy PBX, all on the one call `live`
    (a recording running), ending with its hang-up."""
    rest = f"/api/v1/calls/{live}"
    return [
        ("REST pause", lambda api: api.post(f"{rest}/recording/pause/")),
        ("Noojee resume", lambda api: noojee(api, "resume", extenOrUniqueId=live)),
        ("Noojee pause", lambda api: noojee(api, "pause", extenOrUniqueId=live)),
        ("REST resume", lambda api: api.post(f"{rest}/recording/resume/")),
        ("REST stop", lambda api: api.post(f"{rest}/recording/stop/")),
        ("REST start", lambda api: api.post(f"{rest}/recording/start/")),
        ("Noojee stop", lambda api: noojee(api, "stop", extenOrUniqueId=live)),
        ("Noojee start", lambda api: noojee(api, "start", extenOrUniqueId=live, tag="again")),
        ("REST hangup", lambda api: api.post(f"{rest}/hangup/")),
    ]


def _everything_else(campaign: int, key: str, live: str) -> list[tuple[str, Other]]:
    """Routes that need no PBX: directory, search, campaigns, leads, call and recording history."""
    leads = {"leads": [{"fields": {"firstName": "A", "phone": "0390001299"}}], "allowDuplicates": True}
    return [
        ("tenant", lambda api, n: api.get(f"{T1}/")),
        ("users", lambda api, n: api.get(f"{T1}/groups/g1/users/")),
        ("new user", lambda api, n: api.post(f"{T1}/groups/g1/users/", json=_user(n))),
        ("search", lambda api, n: api.get("/api/v1/search/objects/", params={"tenant_id": "t1"})),
        ("campaigns", lambda api, n: api.get(f"{T1}/campaigns/")),
        ("Noojee campaigns", lambda api, n: api.post(f"{CAMPAIGN_API}/getCampaignList?apiKey={key}")),
        ("leads", lambda api, n: api.post(f"{T1}/campaigns/{campaign}/leads/", json=leads)),
        ("calls", lambda api, n: api.get("/api/v1/calls/")),
        ("call", lambda api, n: api.get(f"/api/v1/calls/{live}/")),
        ("recordings", lambda api, n: api.get("/api/v1/recordings/", params={"uniqueId": live})),
        (
            "Noojee metadata",
            lambda api, n: api.post(
                "/servicemanager/rest/RecordingAPI/retrieveMetaDataByUniqueId", params={"uniqueId": live}
            ),
        ),
    ]


def _user(n: str) -> dict[str, str]:
    return {"userId": f"pbx-away-{n}@t1.example", "firstName": "F", "lastName": "L"}


def _campaign(api: TestClient) -> int:
    template = {"name": "pbx", "leadFields": [{"name": "firstName"}, {"name": "phone", "type": "phone"}]}
    template_id = created(api.post(f"{T1}/campaign-templates/", json=template))["id"]
    campaign: int = created(api.post(f"{T1}/campaigns/", json={"name": "pbx", "templateId": template_id}))[
        "id"
    ]
    return campaign


def _is_pbx_503(name: str, response: Any) -> bool:
    if response.status_code != 503:
        return False
    if name.startswith("Noojee"):
        return bool(response.json() == {"Code": -503, "Message": PBX_AWAY})
    return bool(
        response.headers["content-type"] == "application/problem+json"
        and response.json()["detail"] == PBX_AWAY
    )


def test_the_pbx_dropping_is_503_on_call_control_only_and_the_driver_reconnects_by_itself(
    settings: Settings, global_key: str, pbx_behind_proxy: tuple[ServerThread, TcpProxy]
) -> None:
    pbx, proxy = pbx_behind_proxy
    with make_client(asterisk_settings(settings, proxy.port)) as api:
        api.headers["Authorization"] = f"Bearer {global_key}"
        build_world(api, global_key)
        campaign = _campaign(api)
        for extension in ("104", "105"):  # extensions of t1 alone (101 is t2's too)
            make_user(api, "t1", "g1", f"u{extension}@t1.example", extension=extension)
        wait_until(lambda: pbx_ready(api), "the AMI login")
        running = dial(api, extenOrUniqueId="102", number="0390001234")
        paused = dial(api, extenOrUniqueId="103", number="0390001237")
        idle = dial(api, extenOrUniqueId="104", number="0390001238")
        assert noojee(api, "start", extenOrUniqueId=running, tag="before").json()["Code"] == 0
        assert noojee(api, "start", extenOrUniqueId=paused).json()["Code"] == 0
        assert noojee(api, "pause", extenOrUniqueId=paused).json()["Code"] == 0
        for cycle in range(CUTS):
            accepted = proxy.accepted
            proxy.cut()
            wait_until(lambda: not pbx_ready(api), "the driver to notice the cut")
            ready = api.get("/readyz")
            assert (ready.status_code, ready.json()["status"]) == (200, "degraded")  # stays in the pool
            refusals = []
            for name, control in _refused_while_away(running, paused, idle):
                started = time.monotonic()
                answer = control(api)
                refusals.append((name, time.monotonic() - started))
                assert _is_pbx_503(name, answer), (name, answer.status_code, answer.text)
            assert max(seconds for _, seconds in refusals) < FAST_SECONDS, refusals
            for name, other in _everything_else(campaign, global_key, running):
                answer = other(api, f"{cycle}")
                assert answer.status_code in (200, 201), (name, answer.status_code, answer.text)
                if name.startswith("Noojee"):
                    assert answer.json()["Code"] == 0, (name, answer.text)
            time.sleep(CUT_SECONDS)
            proxy.restore()
            wait_until(lambda: pbx_ready(api), "the driver to reconnect by itself", RECONNECT_SECONDS)
            assert proxy.accepted > accepted  # a new connection: no restart, nothing done by hand
            assert pbx.server.logged_in == 1  # one session: the dead one was let go
            assert api.get("/readyz").json()["status"] == "ok"
            # The calls that outlived the cut are followed again (CoreShowChannels) and controllable.
            for unique_id in (running, paused, idle):
                assert api.get(f"/api/v1/calls/{unique_id}/").json()["state"] == "Connected"
            wait_until(
                lambda: noojee(api, "pause", extenOrUniqueId=running).status_code == 200,
                "call control on a call that outlived the cut",
            )
            assert noojee(api, "resume", extenOrUniqueId=running).json()["Code"] == 0
        # Every route refused during the cut works against the reconnected PBX.
        for name, control in _in_turn(running):
            answer = control(api)
            assert answer.status_code == 200, (name, answer.status_code, answer.text)
        assert noojee(api, "resume", extenOrUniqueId=paused).json()["Code"] == 0
        assert noojee(api, "start", extenOrUniqueId=idle).json()["Code"] == 0
        rest = api.post("/api/v1/calls/", json=DIAL)
        assert rest.status_code == 201, rest.text
        again = dial(api, extenOrUniqueId="105", number="0390001236")
        assert noojee(api, "hangup", extenOrUniqueId=again).json()["Code"] == 0
        for unique_id in (running, again):
            wait_state(api, unique_id, "Hungup")
