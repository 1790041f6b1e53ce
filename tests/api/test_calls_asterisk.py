"""The Asterisk (AMI) driver end to end, against an in-test AMI server speaking the real protocol."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from switchboard.settings import Settings
from tests.support.asterisk import ServerThread, asterisk_api, pbx_ready, running_pbx, wait_until
from tests.support.calls import dial, noojee, wait_state


@pytest.fixture
def pbx() -> Iterator[ServerThread]:
    with running_pbx() as running:
        yield running


def test_dial_record_and_hang_up_through_ami(settings: Settings, global_key: str, pbx: ServerThread) -> None:
    with asterisk_api(settings, global_key, pbx) as api:
        wait_until(lambda: pbx_ready(api), "the AMI login")
        unique_id = dial(api, extenOrUniqueId="102", number="0390001234", callerId="102")
        originate = next(a for a in pbx.server.actions if a.get("Action") == "Originate")
        assert (originate["Channel"], originate["Exten"], originate["ChannelId"]) == (
            "PJSIP/102",
            "0390001234",
            unique_id,
        )
        assert noojee(api, "start", extenOrUniqueId="102", tag="ami").json()["Code"] == 0
        assert noojee(api, "pause", extenOrUniqueId="102").json()["Code"] == 0
        assert noojee(api, "resume", extenOrUniqueId="102").json()["Code"] == 0
        assert noojee(api, "stop", extenOrUniqueId="102").json()["Code"] == 0
        sent = [
            (a["Action"], a.get("State"))
            for a in pbx.server.actions
            if a["Action"].startswith(("MixMonitor", "StopMix"))
        ]
        assert sent == [
            ("MixMonitor", None),
            ("MixMonitorMute", "1"),
            ("MixMonitorMute", "0"),
            ("StopMixMonitor", None),
        ]
        mix = next(a for a in pbx.server.actions if a["Action"] == "MixMonitor")
        assert mix["File"].endswith(f"{unique_id}-1.wav")
        meta = api.post("/servicemanager/rest/RecordingAPI/retrieveMetaData", params={"tag": "ami"}).json()
        assert [e["UniqueId"] for e in meta["entities"]] == [unique_id]
        assert noojee(api, "hangup", extenOrUniqueId=unique_id).json()["Code"] == 0
        wait_state(api, unique_id, "Hungup")


def test_inbound_calls_from_the_pbx_are_followed(
    settings: Settings, global_key: str, pbx: ServerThread
) -> None:
    with asterisk_api(settings, global_key, pbx) as api:
        wait_until(lambda: pbx_ready(api), "the AMI login")
        unique_id = pbx.call(lambda: pbx.server.inject_inbound("103", "+61390000001"))
        call = wait_state(api, unique_id, "Ringing")
        assert (call["direction"], call["extension"], call["tenantId"]) == ("inbound", "103", "t1")
        pbx.call(lambda: pbx.server.answer(unique_id))
        wait_state(api, unique_id, "Connected")
        assert noojee(api, "start", extenOrUniqueId="103").json()["Code"] == 0
        pbx.call(lambda: pbx.server.remote_hangup(unique_id))
        wait_state(api, unique_id, "Hungup")
        (recording,) = api.get("/api/v1/recordings/", params={"uniqueId": unique_id}).json()["recordings"]
        assert recording["state"] == "stopped"  # the hang-up ended it
        assert api.post(f"/api/v1/calls/{unique_id}/hangup/").status_code == 409  # ended
        # The PBX itself refusing (a channel it lost without telling): 409 with its reason.
        other = pbx.call(lambda: pbx.server.inject_inbound("103", "+61390000002"))
        pbx.call(lambda: pbx.server.answer(other))
        wait_state(api, other, "Connected")

        async def lose() -> None:
            del pbx.server.channels[other]

        pbx.call(lose)
        refused = noojee(api, "start", extenOrUniqueId=other)
        assert refused.status_code == 409
        assert "No such channel" in refused.json()["Message"]
        assert (
            api.get("/api/v1/recordings/", params={"uniqueId": other}).json()["recordings"] == []
        )  # nothing changed


def test_pbx_down_is_503_then_the_driver_reconnects(
    settings: Settings, global_key: str, pbx: ServerThread
) -> None:
    with asterisk_api(settings, global_key, pbx) as api:
        wait_until(lambda: pbx_ready(api), "the AMI login")
        live = dial(api, extenOrUniqueId="102", number="0390001234")
        lost = dial(api, extenOrUniqueId="103", number="0390001236")
        pbx.call(pbx.server.stop)  # Asterisk goes away

        async def forget_lost() -> None:  # ...and the call on 103 ends while nobody listens
            del pbx.server.channels[lost]

        pbx.call(forget_lost)
        wait_until(lambda: not pbx_ready(api), "the driver to notice")
        ready = api.get("/readyz")
        assert (ready.status_code, ready.json()["status"]) == (200, "degraded")
        down = noojee(api, "start", extenOrUniqueId=live)
        assert down.status_code == 503
        assert down.json()["Code"] == -503
        assert "PBX is unavailable" in down.json()["Message"]
        assert noojee(api, "dial", extenOrUniqueId="102", number="0390001234").status_code == 503
        assert api.get("/api/v1/tenants/t1/").status_code == 200  # everything else works
        pbx.call(lambda: pbx.server.start(pbx.server.port))
        wait_until(lambda: pbx_ready(api), "the reconnection")
        # Reconciled from CoreShowChannels: the lost call ended, the live one is still live.
        wait_state(api, lost, "Hungup")
        assert api.get(f"/api/v1/calls/{live}/").json()["state"] == "Connected"
        again = dial(api, extenOrUniqueId="102", number="0390001235")
        assert again != live
        # A dropped connection (no listener change) is survived the same way, and calls that
        # outlived it can be controlled: the driver follows them again from CoreShowChannels.
        listed = sum(1 for a in pbx.server.actions if a["Action"] == "CoreShowChannels")
        pbx.call(pbx.server.drop_connections)
        wait_until(
            lambda: (
                pbx_ready(api)
                and sum(1 for a in pbx.server.actions if a["Action"] == "CoreShowChannels") > listed
            ),
            "the reconnection after a drop",
        )
        time.sleep(0.1)  # the list reply is being read
        assert noojee(api, "start", extenOrUniqueId=again).json()["Code"] == 0
        assert noojee(api, "hangup", extenOrUniqueId=again).json()["Code"] == 0


def test_a_refused_login_leaves_call_control_unavailable(
    settings: Settings, global_key: str, pbx: ServerThread
) -> None:
    with asterisk_api(settings, global_key, pbx, secret="wrong") as api:
        time.sleep(0.5)
        assert not pbx_ready(api)
        assert pbx.server.logged_in == 0
        assert noojee(api, "dial", extenOrUniqueId="102", number="0390001234").status_code == 503
