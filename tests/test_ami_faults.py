"""What Switchboard says about a dial is what Asterisk did, on the paths that are not a plain answer:
busy, unanswered, congested, failed before any channel existed, an id Asterisk refused, and two
workers dialling in the same second. Driven through the HTTP API against the in-test Asterisk."""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from switchboard.calls.drivers import asterisk
from switchboard.settings import Settings
from tests.support.ami_server import (
    REASON_BUSY,
    REASON_CONGESTION,
    REASON_FAILED,
    REASON_RING_TIMEOUT,
    USER_BUSY,
)
from tests.support.asterisk import ServerThread, asterisk_api, pbx_ready, running_pbx, wait_until
from tests.support.calls import dial, noojee, wait_state
from tests.support.factories import make_user
from tests.support.webhook_receiver import Receiver, hook_settings

T1 = "/api/v1/tenants/t1"
RA = "/servicemanager/rest/RecordingAPI"
NO_ANSWER_CAUSE = 19


@pytest.fixture
def pbx() -> Iterator[ServerThread]:
    with running_pbx() as running:
        yield running


def _ready(api: TestClient, *extensions: str) -> None:
    for extension in extensions:  # extensions of t1 alone besides the world's 102 and 103
        make_user(api, "t1", "g1", f"u{extension}@t1.example", extension=extension)
    wait_until(lambda: pbx_ready(api), "the AMI login")


def _dial(api: TestClient, extension: str, number: str = "0390001234") -> dict[str, Any]:
    answer = api.post("/api/v1/calls/", json={"extension": extension, "number": number})
    assert answer.status_code == 201, answer.text
    call: dict[str, Any] = answer.json()
    return call


def _originated_ids(pbx: ServerThread) -> list[str]:
    return [a["ChannelId"] for a in pbx.server.actions if a.get("Action") == "Originate"]


def test_busy_no_answer_and_congestion_are_each_their_own_state(
    settings: Settings, global_key: str, pbx: ServerThread
) -> None:
    outcomes = {
        "102": (REASON_BUSY, "Busy"),
        "103": (REASON_RING_TIMEOUT, "No Answer"),
        "104": (REASON_CONGESTION, "Congestion"),
    }
    with asterisk_api(settings, global_key, pbx) as api:
        _ready(api, "104")
        for extension, (reason, _) in outcomes.items():
            pbx.server.failures[extension] = reason
        for extension, (_, state) in outcomes.items():
            # The Originate's DialEnd carries only DestUniqueid; then Hangup; then OriginateResponse.
            unique_id = _dial(api, extension)["uniqueId"]
            call = wait_state(api, unique_id, state)
            assert call["endedAt"] is not None
            assert call["answeredAt"] is None
        # Calls the driver follows but did not dial: the Hangup's cause says how a ringing one ended.
        busy = pbx.call(lambda: pbx.server.inject_inbound("102", "+61390000001"))
        unanswered = pbx.call(lambda: pbx.server.inject_inbound("103", "+61390000002"))
        answered = pbx.call(lambda: pbx.server.inject_inbound("104", "+61390000003"))
        wait_state(api, answered, "Ringing")
        pbx.call(lambda: pbx.server.answer(answered))
        wait_state(api, answered, "Connected")
        pbx.call(lambda: pbx.server.remote_hangup(busy, USER_BUSY))
        pbx.call(lambda: pbx.server.remote_hangup(unanswered, NO_ANSWER_CAUSE))
        pbx.call(lambda: pbx.server.remote_hangup(answered, USER_BUSY))  # answered: ended normally
        wait_state(api, busy, "Busy")
        wait_state(api, unanswered, "No Answer")
        wait_state(api, answered, "Hungup")
        # Noojee's monitor sees each as Hungup, with the reason.
        wait_until(
            lambda: _noojee_ends(api, ["102", "103"]).get(busy) == ("Hungup", "busy"), "the busy event"
        )
        assert _noojee_ends(api, ["102", "103"])[unanswered] == ("Hungup", "no answer")


def _noojee_ends(api: TestClient, extensions: list[str]) -> dict[str, tuple[str, str]]:
    """Each call's last (status, hangupCause) on the extensions, as Noojee's subscribe reports them."""
    reply = noojee(api, "subscribe", exten=",".join(extensions), lastSequenceNumber=1, timeOut=0).json()
    return {
        entry["CallData"]["uniqueCallId"]: (entry["CallData"]["status"], entry["CallData"]["hangupCause"])
        for extension in extensions
        for entry in reply["Data"][extension]
    }


def test_a_dial_asterisk_could_not_place_ends_failed_frees_its_slot_and_hangs_up_as_ended(
    settings: Settings, global_key: str, pbx: ServerThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unregistered phone: `OriginateResponse Failure Reason: 0`, no channel ever."""
    with asterisk_api(settings, global_key, pbx) as api:
        _ready(api)
        policy = {"allowed": [r"\d{2,6}", r"0[1-8]\d{6,12}"], "maxConcurrentCalls": 1}
        assert api.put(f"{T1}/dialling-policy/", json=policy).status_code == 200
        pbx.server.failures["103"] = REASON_FAILED
        failed = _dial(api, "103")  # Asterisk says at once: the answer already tells
        assert (failed["state"], failed["extension"]) == ("Failed", "103")
        assert failed["endedAt"] is not None
        # Asterisk slower to say so than the dial waits: the dial answers "Dialing Out", then ends.
        monkeypatch.setattr(asterisk, "CHANNEL_WAIT", 0.05)
        pbx.server.originate_delay = 0.3
        late = _dial(api, "103")
        assert (late["uniqueId"], late["state"]) == (_originated_ids(pbx)[-1], "Dialing Out")
        wait_state(api, late["uniqueId"], "Failed")
        pbx.server.originate_delay = 0.0
        for call in (failed, late):
            refused = api.post(f"/api/v1/calls/{call['uniqueId']}/hangup/")
            assert refused.status_code == 409
            assert refused.json()["detail"] == f"call {call['uniqueId']} has ended (Failed)"
        # Neither holds the tenant's one API call: the next dial goes through.
        placed = _dial(api, "102")
        wait_state(api, placed["uniqueId"], "Connected")
        over = api.post("/api/v1/calls/", json={"extension": "103", "number": "0390001299"})
        assert over.status_code == 403  # the slot it holds is counted
        # Noojee's dial: a SessionID whose call is Hungup, "failed".
        assert noojee(api, "hangup", extenOrUniqueId=placed["uniqueId"]).json()["Code"] == 0
        wait_state(api, placed["uniqueId"], "Hungup")
        answer = noojee(api, "dial", extenOrUniqueId="SIP/103", number="0390001235")
        assert answer.json()["Code"] == 0, answer.text
        assert api.get(f"/api/v1/calls/{answer.json()['SessionID']}/").json()["state"] == "Failed"


def test_a_dial_never_takes_an_id_asterisk_has_and_a_refused_id_is_not_that_calls_failure(
    settings: Settings, global_key: str, pbx: ServerThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn: list[str] = []

    def draw_first(*ids: str) -> None:
        """The driver's next random draws are these ids, then random ones again."""
        real = asterisk.new_unique_id
        queue = list(ids)

        def fake() -> str:
            drawn.append(queue.pop(0) if queue else real())
            return drawn[-1]

        monkeypatch.setattr(asterisk, "new_unique_id", fake)

    with asterisk_api(settings, global_key, pbx) as api:
        _ready(api, "104", "105")
        live = dial(api, extenOrUniqueId="102", number="0390001234")
        # A live call the driver follows: its id is drawn again, never sent.
        draw_first(live)
        other = dial(api, extenOrUniqueId="103", number="0390001235")
        assert other != live
        assert live not in _originated_ids(pbx)[1:]
        # A call the driver has not heard of yet (another worker's, an instant old): Asterisk refuses
        # the id ("Channel Unique ID ... already in use": Reason 0). The dial failed, under an id of
        # its own; the call that has the id is untouched.
        unheard = pbx.server.existing_call("104", "+61390000009")
        draw_first(unheard)
        refused = _dial(api, "105")
        assert _originated_ids(pbx)[-1] == unheard
        assert refused["state"] == "Failed"
        assert refused["uniqueId"] != unheard
        assert api.get(f"/api/v1/calls/{unheard}/").status_code == 404
        pbx.call(lambda: pbx.server.remote_hangup(unheard))
        time.sleep(0.2)
        assert api.get(f"/api/v1/calls/{refused['uniqueId']}/").json()["state"] == "Failed"
        for unique_id in (live, other):
            assert api.get(f"/api/v1/calls/{unique_id}/").json()["state"] == "Connected"


def test_two_workers_dialling_in_the_same_second_get_their_own_ids(
    settings: Settings, global_key: str, pbx: ServerThread
) -> None:
    """Two apps on one database and one Asterisk, as two worker processes are."""
    with asterisk_api(settings, global_key, pbx) as first:
        _ready(first)
        with asterisk_api(settings, global_key, pbx, world=False) as second:
            wait_until(lambda: pbx_ready(second), "the second worker's AMI login")
            for attempt in range(5):
                one = noojee(first, "dial", extenOrUniqueId="102", number="0390001234").json()["SessionID"]
                two = noojee(second, "dial", extenOrUniqueId="103", number="0390001235").json()["SessionID"]
                if one.split(".")[0] == two.split(".")[0] or attempt == 4:
                    break  # in the same second (the first draws of every worker, before)
                for unique_id in (one, two):
                    noojee(first, "hangup", extenOrUniqueId=unique_id)
            assert one.split(".")[0] == two.split(".")[0]
            assert one != two
            # Each client's SessionID is its own call, as either worker reports it.
            for api in (first, second):
                assert wait_state(api, one, "Connected")["extension"] == "102"
                assert wait_state(api, two, "Connected")["extension"] == "103"
            assert pbx.server.channels[one].name.startswith("PJSIP/102-")
            assert pbx.server.channels[two].name.startswith("PJSIP/103-")
            # Each worker's OriginateResponse went to both; each took only its own.
            time.sleep(0.2)
            assert first.get(f"/api/v1/calls/{one}/").json()["state"] == "Connected"
            assert second.get(f"/api/v1/calls/{two}/").json()["state"] == "Connected"


def test_a_dial_answered_504_because_asterisk_was_frozen_is_hung_up_when_asterisk_runs_it(
    settings: Settings, global_key: str, pbx: ServerThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kill -STOP: Asterisk keeps the connection and queues the Originate; the dial answers 504 when
    the driver stops waiting; kill -CONT: Asterisk places the call. It is hung up at once, and never
    becomes a call in Switchboard (it was a 504)."""
    monkeypatch.setattr(asterisk, "ACTION_TIMEOUT", 0.5)
    with asterisk_api(settings, global_key, pbx) as api:
        _ready(api)
        pbx.server.freeze()
        refused = api.post("/api/v1/calls/", json={"extension": "102", "number": "0390001234"})
        assert refused.status_code == 504, refused.text
        assert "retrying is safe" in refused.json()["detail"]
        pbx.loop.call_soon_threadsafe(pbx.server.resume)  # on the PBX's own loop
        wait_until(lambda: bool(_originated_ids(pbx)), "Asterisk to run the queued Originate")
        (late,) = _originated_ids(pbx)
        # The Originate is logged before its channel exists: "not in channels" alone could hold
        # before the call was ever up (a flaky failure in CI). Wait for the driver's Hangup first.
        wait_until(
            lambda: any(a.get("Action") == "Hangup" for a in pbx.server.actions), "the driver's Hangup"
        )
        wait_until(lambda: late not in pbx.server.channels, "the late call to be hung up")
        hangups = [a for a in pbx.server.actions if a.get("Action") == "Hangup"]
        assert [a["Channel"].startswith("PJSIP/102-") for a in hangups] == [True]
        time.sleep(0.2)
        assert api.get(f"/api/v1/calls/{late}/").status_code == 404
        assert api.get("/api/v1/calls/", params={"state": "live"}).json()["calls"] == []
        # The driver is in step again: the next dial is placed and connects.
        placed = dial(api, extenOrUniqueId="102", number="0390001235")
        assert placed != late


def test_a_dial_answered_504_whose_answer_is_lost_with_the_link_is_hung_up_on_reconnection(
    settings: Settings, global_key: str, pbx: ServerThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Asterisk runs the timed-out Originate, and the connection drops before its answer comes:
    on reconnection the channel list shows the call, and it is hung up, not adopted as a call."""
    monkeypatch.setattr(asterisk, "ACTION_TIMEOUT", 0.5)
    with asterisk_api(settings, global_key, pbx) as api:
        _ready(api)
        pbx.server.freeze()
        timed_out = api.post("/api/v1/calls/", json={"extension": "102", "number": "0390001234"})
        assert timed_out.status_code == 504, timed_out.text
        (late,) = [a["ChannelId"] for a in pbx.server.received if a.get("Action") == "Originate"]
        pbx.call(pbx.server.drop_connections)  # the answer is lost with the connection
        pbx.server.existing_call("102", "0390001234", uniqueid=late)  # ... and Asterisk had run it
        pbx.loop.call_soon_threadsafe(pbx.server.resume)
        wait_until(lambda: late not in pbx.server.channels, "the late call to be hung up on reconnection")
        wait_until(lambda: pbx_ready(api), "the AMI login")
        time.sleep(0.2)
        assert api.get(f"/api/v1/calls/{late}/").status_code == 404
        assert api.get("/api/v1/calls/", params={"state": "live"}).json()["calls"] == []


def _actions(pbx: ServerThread, name: str) -> list[dict[str, str]]:
    return [a for a in pbx.server.actions if a.get("Action") == name]


def test_a_recording_start_answered_504_is_stopped_when_asterisk_runs_it(
    settings: Settings, global_key: str, pbx: ServerThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The start reaches a frozen Asterisk: 504. Resumed, Asterisk starts the monitor; it is
    stopped at once (no recording runs that Switchboard does not know of). Until then the call
    takes no other recording request (503), so two monitors never write one file; afterwards a
    start records, and its stop leaves no monitor behind."""
    monkeypatch.setattr(asterisk, "ACTION_TIMEOUT", 0.5)
    with asterisk_api(settings, global_key, pbx) as api:
        _ready(api)
        unique_id = dial(api, extenOrUniqueId="102", number="0390001234")
        wait_state(api, unique_id, "Connected")
        pbx.server.freeze()
        timed_out = api.post(f"/api/v1/calls/{unique_id}/recording/start/")
        assert timed_out.status_code == 504, timed_out.text
        again = api.post(f"/api/v1/calls/{unique_id}/recording/start/")
        assert again.status_code == 503, again.text
        assert "has not yet answered the last recording request" in again.json()["detail"]
        assert api.get("/api/v1/recordings/", params={"uniqueId": unique_id}).json()["recordings"] == []
        pbx.loop.call_soon_threadsafe(pbx.server.resume)
        wait_until(lambda: bool(_actions(pbx, "StopMixMonitor")), "the late monitor to be stopped")
        wait_until(lambda: pbx.server.channels[unique_id].recording is None, "no monitor left running")
        assert len(_actions(pbx, "MixMonitor")) == 1  # the second request never reached Asterisk
        assert api.get("/api/v1/recordings/", params={"uniqueId": unique_id}).json()["recordings"] == []
        answers: list[Any] = []  # the undo's answer reaches the driver just after the PBX stops it
        wait_until(
            lambda: (
                answers.append(api.post(f"/api/v1/calls/{unique_id}/recording/start/"))
                or answers[-1].status_code != 503
            ),
            "the call to take recording requests again",
        )
        started = answers[-1]
        assert started.status_code == 200, started.text
        assert (started.json()["state"], started.json()["leg"]) == ("recording", 1)
        assert pbx.server.channels[unique_id].recording is not None
        stopped = api.post(f"/api/v1/calls/{unique_id}/recording/stop/")
        assert (stopped.status_code, stopped.json()["state"]) == (200, "stopped")
        assert pbx.server.channels[unique_id].recording is None


def test_a_stop_pause_or_hang_up_answered_504_is_recorded_when_asterisk_does_it(
    settings: Settings, global_key: str, pbx: ServerThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Asterisk does them late: the pause, then the stop, are recorded when it answers, and the
    hang-up ends the call; never "504, and it happened" with the API saying otherwise."""
    monkeypatch.setattr(asterisk, "ACTION_TIMEOUT", 0.5)
    with asterisk_api(settings, global_key, pbx) as api:
        _ready(api)
        unique_id = dial(api, extenOrUniqueId="102", number="0390001234")
        wait_state(api, unique_id, "Connected")
        started = api.post(f"/api/v1/calls/{unique_id}/recording/start/")
        assert started.status_code == 200, started.text
        leg = started.json()["id"]

        def leg_state() -> str:
            state: str = api.get(f"/api/v1/recordings/{leg}/").json()["state"]
            return state

        for action, after in (("pause", "paused"), ("stop", "stopped")):
            pbx.server.freeze()
            timed_out = api.post(f"/api/v1/calls/{unique_id}/recording/{action}/")
            assert timed_out.status_code == 504, timed_out.text
            assert leg_state() != after  # not yet: Asterisk has not done it
            pbx.loop.call_soon_threadsafe(pbx.server.resume)
            wait_until(lambda after=after: leg_state() == after, f"the late {action} to be recorded")
        assert pbx.server.channels[unique_id].recording is None
        assert api.post(f"/api/v1/calls/{unique_id}/recording/stop/").status_code == 409  # none runs
        pbx.server.freeze()
        assert api.post(f"/api/v1/calls/{unique_id}/hangup/").status_code == 504
        assert api.get(f"/api/v1/calls/{unique_id}/").json()["state"] == "Connected"
        pbx.loop.call_soon_threadsafe(pbx.server.resume)
        wait_state(api, unique_id, "Hungup")
        assert unique_id not in pbx.server.channels


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


def test_a_recording_asterisk_could_not_write_is_failed_never_stopped(
    settings: Settings, global_key: str, pbx: ServerThread, receiver: Receiver
) -> None:
    """The Asterisk user may not write the recordings directory: Asterisk answers MixMonitor with
    Success and announces MixMonitorStart, and writes nothing. The leg is "failed" in the API, its
    event, its webhook and Noojee's metadata; nothing to download; the monitor is not left running."""
    settings = hook_settings(settings)
    with asterisk_api(settings, global_key, pbx) as api:
        _ready(api)
        hook = api.post("/api/v1/webhooks/", json={"url": receiver.url, "eventTypes": ["recording.*"]})
        assert hook.status_code == 201, hook.text
        unique_id = dial(api, extenOrUniqueId="102", number="0390001234")
        wait_state(api, unique_id, "Connected")
        pbx.server.unwritable.add(settings.recordings_dir)
        start = api.post(f"/api/v1/calls/{unique_id}/recording/start/", json={"tag": "crm-9"})
        assert start.status_code == 409, start.text
        assert "the recording failed: Asterisk wrote no file" in start.json()["detail"]
        assert pbx.server.log  # Asterisk's log says so, as a real one does
        (leg,) = api.get("/api/v1/recordings/", params={"uniqueId": unique_id}).json()["recordings"]
        assert (leg["state"], leg["seconds"], leg["leg"]) == ("failed", 0.0, 1)
        assert leg["stoppedAt"] is not None
        assert api.get(f"/api/v1/recordings/{leg['id']}/file/").status_code == 404
        # Asterisk was told to stop the monitor that records nothing; no recording runs.
        assert pbx.server.channels[unique_id].recording is None
        assert api.post(f"/api/v1/calls/{unique_id}/recording/stop/").status_code == 409
        (meta,) = api.post(f"{RA}/retrieveMetaDataByUniqueId", params={"uniqueId": unique_id}).json()[
            "entities"
        ]
        assert (meta["State"], meta["Duration"], meta["Tag"]) == ("failed", 0, "crm-9")
        (failed,) = receiver.wait_for(lambda seen: len(seen) >= 1)
        assert failed.json["type"] == "recording.failed"
        assert failed.json["data"]["leg"] == 1
        assert "wrote no file" in failed.json["data"]["reason"]
        # Writable again: the next leg records, stops "stopped", and its file is served.
        pbx.server.unwritable.clear()
        started = api.post(f"/api/v1/calls/{unique_id}/recording/start/")
        assert (started.status_code, started.json()["state"], started.json()["leg"]) == (200, "recording", 2)
        stopped = api.post(f"/api/v1/calls/{unique_id}/recording/stop/")
        assert (stopped.status_code, stopped.json()["state"]) == (200, "stopped")
        download = api.get(f"/api/v1/recordings/{stopped.json()['id']}/file/")
        assert download.status_code == 200
        assert download.content[:4] == b"RIFF"
        # Deliveries run side by side and may arrive in any order; the event id orders them.
        delivered = sorted(receiver.wait_for(lambda seen: len(seen) >= 3), key=lambda r: r.json["id"])
        assert [r.json["type"] for r in delivered] == [
            "recording.failed",
            "recording.started",
            "recording.stopped",
        ]


def test_a_recording_whose_file_is_gone_at_its_end_is_failed(
    settings: Settings, global_key: str, pbx: ServerThread
) -> None:
    """The file Asterisk opened is not there when the leg ends (removed, a directory remounted):
    the stop and the hang-up each report the leg failed, never stopped."""
    with asterisk_api(settings, global_key, pbx) as api:
        _ready(api)
        unique_id = dial(api, extenOrUniqueId="102", number="0390001234")
        wait_state(api, unique_id, "Connected")
        for ending in ("stop", "hangup"):
            started = api.post(f"/api/v1/calls/{unique_id}/recording/start/")
            assert started.status_code == 200, started.text
            (settings.recordings_dir / f"{unique_id}-{started.json()['leg']}.wav").unlink()
            if ending == "stop":
                answer = api.post(f"/api/v1/calls/{unique_id}/recording/stop/")
                assert (answer.status_code, answer.json()["state"]) == (200, "failed")
            else:
                assert api.post(f"/api/v1/calls/{unique_id}/hangup/").status_code == 200
                wait_state(api, unique_id, "Hungup")
        legs = api.get("/api/v1/recordings/", params={"uniqueId": unique_id}).json()["recordings"]
        assert [(leg["leg"], leg["state"]) for leg in legs] == [(1, "failed"), (2, "failed")]


def test_with_no_shared_recordings_directory_asterisk_s_word_is_taken(
    settings: Settings, global_key: str, pbx: ServerThread
) -> None:
    """Asterisk on another host, its recordings directory not shared (SWITCHBOARD_AMI_RECORDINGS_SHARED
    false): no file here is no proof of failure. MixMonitorStart says the recording runs; its stop,
    and the hang-up's, are "stopped"; the download answers 404 (a review found every such
    recording failed and its monitor stopped)."""
    settings = settings.model_copy(update={"ami_recordings_shared": False})
    with asterisk_api(settings, global_key, pbx) as api:
        _ready(api)
        unique_id = dial(api, extenOrUniqueId="102", number="0390001234")
        wait_state(api, unique_id, "Connected")
        pbx.server.unwritable.add(settings.recordings_dir)  # nothing appears on this machine
        for ending in ("stop", "hangup"):
            started = api.post(f"/api/v1/calls/{unique_id}/recording/start/")
            assert (started.status_code, started.json()["state"]) == (200, "recording"), started.text
            assert pbx.server.channels[unique_id].recording is not None
            if ending == "stop":
                answer = api.post(f"/api/v1/calls/{unique_id}/recording/stop/")
                assert (answer.status_code, answer.json()["state"]) == (200, "stopped")
                assert api.get(f"/api/v1/recordings/{answer.json()['id']}/file/").status_code == 404
            else:
                assert api.post(f"/api/v1/calls/{unique_id}/hangup/").status_code == 200
                wait_state(api, unique_id, "Hungup")
        legs = api.get("/api/v1/recordings/", params={"uniqueId": unique_id}).json()["recordings"]
        assert [(leg["leg"], leg["state"]) for leg in legs] == [(1, "stopped"), (2, "stopped")]


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A data directory under /tmp (which everyone may enter), not pytest's own (root's, 0700)."""
    made = Path(tempfile.mkdtemp(prefix="sb-data-", dir="/tmp"))
    yield made
    shutil.rmtree(made, ignore_errors=True)


def test_start_up_warns_when_the_asterisk_user_cannot_write_the_recordings_directory(
    settings: Settings, global_key: str, pbx: ServerThread, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """`serve` makes the data directory 0700: Asterisk (another user) cannot reach recordings/ inside
    it, and every recording would fail. Start-up says so; once the modes allow it, it does not."""
    settings = settings.model_copy(update={"data_dir": data_dir, "ami_recordings_user": "nobody"})
    recordings = settings.recordings_dir
    recordings.mkdir(mode=0o777)
    recordings.chmod(0o777)
    data_dir.chmod(0o700)
    checker = "switchboard.calls.recordings_access"
    with (
        caplog.at_level(logging.INFO, logger=checker),
        asterisk_api(settings, global_key, pbx, world=False) as api,
    ):
        wait_until(lambda: pbx_ready(api), "the AMI login")
    (warning,) = [r for r in caplog.records if r.name == checker]
    assert warning.levelno == logging.WARNING
    assert f"the user 'nobody' cannot enter {data_dir}" in warning.getMessage()
    caplog.clear()
    data_dir.chmod(0o711)  # others may pass through (or: Asterisk's user in a group with g+x)
    with (
        caplog.at_level(logging.INFO, logger=checker),
        asterisk_api(settings, global_key, pbx, world=False) as api,
    ):
        wait_until(lambda: pbx_ready(api), "the AMI login")
    assert [r for r in caplog.records if r.name == checker] == []
    recordings.chmod(0o755)
    with (
        caplog.at_level(logging.INFO, logger=checker),
        asterisk_api(settings, global_key, pbx, world=False) as api,
    ):
        wait_until(lambda: pbx_ready(api), "the AMI login")
    (warning,) = [r for r in caplog.records if r.name == checker]
    assert f"the user 'nobody' cannot create files in {recordings}" in warning.getMessage()


def test_readyz_says_a_frozen_pbx_is_not_ready(
    settings: Settings, global_key: str, pbx: ServerThread
) -> None:
    """kill -STOP keeps Asterisk's socket open: only an AMI Ping with a deadline tells it answers no more."""
    with asterisk_api(settings, global_key, pbx, world=False) as api:
        wait_until(lambda: pbx_ready(api), "the AMI login")
        pbx.server.freeze()
        started = time.monotonic()
        ready = api.get("/readyz")
        assert time.monotonic() - started < 3
        assert ready.status_code == 200  # degraded: everything but call control works
        assert ready.json() == {
            "status": "degraded",
            "checks": {"database": "ok", "pbx": "unavailable: the PBX did not answer a Ping within 1 s"},
        }
        pbx.loop.call_soon_threadsafe(pbx.server.resume)
        wait_until(lambda: pbx_ready(api), "Asterisk to answer again")
        assert api.get("/readyz").json()["status"] == "ok"


def _at(text: str | None) -> float:
    assert text is not None
    return datetime.fromisoformat(text).timestamp()


def test_calls_that_began_while_switchboard_or_its_link_was_down_are_calls_at_once(
    settings: Settings, global_key: str, pbx: ServerThread
) -> None:
    """One call up before Switchboard started, one begun while its AMI link was down: each is a call
    as soon as the link is up, with the PBX's start and answer times, controllable by extension, and
    stored with true times when it ends (answered, started before it ended)."""
    with asterisk_api(settings, global_key, pbx) as api:
        _ready(api)  # the directory: extensions 102 and 103
    before = pbx.server.existing_call("102", "+61390000001", age=40, answered_after=6)
    with asterisk_api(settings, global_key, pbx, world=False) as api:
        call = wait_state(api, before, "Connected")  # no event about it was ever heard
        assert abs(_at(call["startedAt"]) - (time.time() - 40)) < 2.5
        assert abs(_at(call["answeredAt"]) - (time.time() - 34)) < 1.5
        pbx.call(pbx.server.stop)  # the link goes down; Asterisk's calls go on
        wait_until(lambda: not pbx_ready(api), "the link to drop")
        during = pbx.server.existing_call("103", "+61390000002", age=20, answered_after=3)
        pbx.call(lambda: pbx.server.start(pbx.server.port))
        wait_until(lambda: pbx_ready(api), "the link to come back")
        call = wait_state(api, during, "Connected")
        assert call["direction"] == "inbound"
        assert abs(_at(call["answeredAt"]) - (time.time() - 17)) < 1.5
        # Control by extension finds each (Noojee's hang-up takes the extension).
        for extension, unique_id in (("103", during), ("102", before)):
            answer = noojee(api, "hangup", extenOrUniqueId=extension)
            assert answer.json()["Code"] == 0, answer.text
            ended = wait_state(api, unique_id, "Hungup")
            assert _at(ended["startedAt"]) < _at(ended["answeredAt"]) < _at(ended["endedAt"])


def test_the_call_on_an_extension_is_the_local_channels_dialled_half(
    settings: Settings, global_key: str, pbx: ServerThread
) -> None:
    """A Local dial template: Asterisk makes Local/102@from-internal-…;1 (the dial's id) and its ;2
    half (the dialplan's side, Linkedid = ;1). Both name extension 102; they are one call, the ;1
    half's: the only live call listed, and the one control by extension acts on."""
    settings = settings.model_copy(update={"ami_channel": "Local/{extension}@from-internal"})
    with asterisk_api(settings, global_key, pbx) as api:
        _ready(api)
        dialled = dial(api, extenOrUniqueId="102", number="0390001234")
        wait_state(api, dialled, "Connected")
        halves = sorted(c.name for c in pbx.server.channels.values())
        assert [name[-2:] for name in halves] == [";1", ";2"]
        time.sleep(0.2)  # every event of both halves applied
        live = api.get("/api/v1/calls/", params={"state": "live"}).json()["calls"]
        assert [call["uniqueId"] for call in live] == [dialled]
        started = noojee(api, "start", extenOrUniqueId="102")
        assert started.json()["UniqueId"] == dialled, started.text
        mixmonitor = [a for a in pbx.server.actions if a.get("Action") == "MixMonitor"][-1]
        assert mixmonitor["Channel"].endswith(";1")
        assert noojee(api, "hangup", extenOrUniqueId="102").json()["Code"] == 0
        assert wait_state(api, dialled, "Hungup")["answeredAt"] is not None
        assert api.get("/api/v1/calls/", params={"state": "live"}).json()["calls"] == []


def test_the_native_hang_up_answers_the_call_after_the_hang_up(
    settings: Settings, global_key: str, pbx: ServerThread
) -> None:
    with asterisk_api(settings, global_key, pbx) as api:
        _ready(api)
        for extension in ("102", "103"):
            unique_id = dial(api, extenOrUniqueId=extension, number="0390001234")
            wait_state(api, unique_id, "Connected")
            answer = api.post(f"/api/v1/calls/{unique_id}/hangup/")
            assert answer.status_code == 200, answer.text
            assert (answer.json()["state"], answer.json()["endedAt"] is not None) == ("Hungup", True)
