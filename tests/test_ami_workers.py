"""`switchboard serve --workers 2` on PostgreSQL, each worker logged in to one in-test Asterisk:
dials served by both workers within one second each get an id of their own that Asterisk accepts,
and every answer's id is the call that request placed."""

from __future__ import annotations

import math
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest

from tests.support.ami_server import UP
from tests.support.asterisk import AMI_SECRET, running_pbx, wait_until
from tests.support.server import fresh_request, running_server, server_log_path, worker_pids

pytestmark = pytest.mark.server

CM = "/servicemanager/rest/CallManagementAPI"
DIALS = 20  # sent at once; every other one through Noojee's dial, the rest through the native API
VOLLEYS = 4  # at most, until both workers have dialled within one second, SHARE times each
SHARE = 3  # (the kernel hands the connections out, not always evenly)
LIVE_CAP = DIALS * VOLLEYS  # the tenant's API calls at once: every call placed here stays up
CHANNEL_DELAY = 0.1  # seconds from an Originate to its channel


@dataclass(frozen=True)
class Dial:
    """One request: what it asked for and the id its answer gave."""

    api: str  # "noojee" or "native"
    extension: str
    number: str
    unique_id: str


def _extension(volley: int, n: int) -> str:
    return f"5{volley}{n:02d}"  # one of its own for every dial (not 404: the in-test PBX fails it)


def _number(volley: int, n: int) -> str:
    return f"039000{volley}{n:02d}"


def _volley(base_url: str, system: dict[str, str], volley: int) -> list[Dial]:
    """DIALS dials, each on a client and connection of its own (so the kernel hands them to both
    workers), all sent just after the next second begins."""
    start = math.floor(time.time()) + 1.02
    ready = threading.Barrier(DIALS)

    def one(n: int) -> Dial:
        extension, number = _extension(volley, n), _number(volley, n)
        with httpx2.Client(base_url=base_url, verify=False, timeout=20, headers=system) as own:
            ready.wait()
            time.sleep(max(0.0, start - time.time()))
            if n % 2:
                params = {"extenOrUniqueId": extension, "number": number, "tenantId": "t1"}
                answer = fresh_request(own, "POST", f"{CM}/dial", params=params)
                assert answer.status_code == 200, answer.text
                assert answer.json()["Code"] == 0, answer.text
                return Dial("noojee", extension, number, answer.json()["SessionID"])
            body = {"extension": extension, "number": number, "tenantId": "t1"}
            answer = fresh_request(own, "POST", "/api/v1/calls/", json=body)
            assert answer.status_code == 201, answer.text
            return Dial("native", extension, number, answer.json()["uniqueId"])

    with ThreadPoolExecutor(DIALS) as pool:
        return list(pool.map(one, range(DIALS)))


def _both_dialled_in_one_second(originates: list[dict[str, str]]) -> bool:
    """Whether both drivers sent SHARE Originates or more within one second (by the second of
    their ids). Which driver sent one: its ActionID's prefix is its process's own."""
    by_second: dict[str, Counter[str]] = defaultdict(Counter)
    for action in originates:
        by_second[action["ChannelId"].split(".")[0]][action["ActionID"].rsplit("-", 1)[0]] += 1
    return any(len(sent) == 2 and min(sent.values()) >= SHARE for sent in by_second.values())


def _dial_pids(log: list[str]) -> set[str]:
    """The workers that served a dial, from the access log."""
    return worker_pids(
        [line for line in log if f'"POST {CM}/dial?' in line or '"POST /api/v1/calls/"' in line]
    )


def test_two_workers_dialling_in_the_same_second_each_get_ids_of_their_own(
    pg_system: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, global_key = pg_system
    system = {"Authorization": f"Bearer {global_key}"}
    with running_pbx() as pbx:
        for name, value in {
            "PBX": "asterisk",
            "AMI_PORT": str(pbx.server.port),
            "AMI_USERNAME": pbx.server.username,
            "AMI_SECRET": AMI_SECRET,
        }.items():
            monkeypatch.setenv(f"SWITCHBOARD_{name}", value)
        with running_server(tmp_path / "data", url, "--workers", "2") as (port, log):
            base_url = f"https://127.0.0.1:{port}"
            # Each worker has a driver of its own: two AMI sessions.
            wait_until(lambda: pbx.server.logged_in >= 2, "both workers' AMI logins", seconds=30)
            assert pbx.server.logged_in == 2
            with httpx2.Client(base_url=base_url, verify=False, timeout=10, headers=system) as client:
                for path, body in [
                    ("/api/v1/tenants/", {"tenantId": "t1", "type": "Enterprise"}),
                    ("/api/v1/tenants/t1/domains/", {"domain": "t1.example"}),
                    ("/api/v1/tenants/t1/groups/", {"groupId": "g1"}),
                ]:
                    assert client.post(path, json=body).status_code == 201, (path, body)
                policy = {"allowed": [r"0[1-8]\d{6,12}"], "maxConcurrentCalls": LIVE_CAP}
                assert client.put("/api/v1/tenants/t1/dialling-policy/", json=policy).status_code == 200

                # Asterisk takes a moment to make each channel (one at a time per session): until its
                # Newchannel arrives, no driver but the one that sent the id can know it is taken.
                pbx.server.originate_delay = CHANNEL_DELAY
                dials: list[Dial] = []
                for volley in range(VOLLEYS):
                    for n in range(DIALS):
                        extension = _extension(volley, n)
                        user = {"userId": f"u{extension}@t1.example", "firstName": "U", "lastName": extension}
                        made = client.post(
                            "/api/v1/tenants/t1/groups/g1/users/", json={**user, "extension": extension}
                        )
                        assert made.status_code == 201, made.text
                    dials += _volley(base_url, system, volley)
                    originates = [a for a in list(pbx.server.actions) if a.get("Action") == "Originate"]
                    if _both_dialled_in_one_second(originates):
                        break
                assert _both_dialled_in_one_second(originates), [
                    (a["ActionID"], a["ChannelId"]) for a in originates
                ]

                # Asterisk refused no id, and each answer's id is the one its Originate named.
                assert pbx.server.log == []  # never "Channel Unique ID '...' already in use"
                ids = [dial.unique_id for dial in dials]
                assert len(set(ids)) == len(dials), ids
                assert sorted(a["ChannelId"] for a in originates) == sorted(ids)
                # Each id is a live call on Asterisk from that request's extension to its number.
                for dial in dials:
                    channel = pbx.server.channels.get(dial.unique_id)
                    assert channel is not None, f"{dial}: no channel on Asterisk"
                    assert channel.name.startswith(f"PJSIP/{dial.extension}-"), (dial, channel.name)
                    assert (channel.exten, channel.state) == (dial.number, UP), dial

                # Either worker reports each call as that request's, connected; no event reached
                # another call, and no call appeared that no request placed.
                def calls_connected() -> bool:
                    return all(
                        fresh_request(client, "GET", f"/api/v1/calls/{dial.unique_id}/").json()["state"]
                        == "Connected"
                        for dial in dials
                    )

                wait_until(calls_connected, "every call to be Connected")
                for dial in dials:
                    call = fresh_request(client, "GET", f"/api/v1/calls/{dial.unique_id}/").json()
                    seen = (call["extension"], call["otherParty"], call["direction"], call["state"])
                    assert seen == (dial.extension, dial.number, "outbound", "Connected"), (dial, call)
                live = client.get("/api/v1/calls/", params={"state": "live", "limit": 500}).json()
                assert sorted(call["uniqueId"] for call in live["calls"]) == sorted(ids)
                keyed_pids = _one_call_for_one_key(
                    base_url,
                    system,
                    client,
                    pbx.server.actions,
                    lambda: server_log_path(tmp_path / "data", port).read_text().splitlines(),
                )
    assert len(_dial_pids(log)) == 2, "both workers should have served dials"
    assert len(keyed_pids) == 2, "both workers should have answered the keyed dial"


def _one_call_for_one_key(
    base_url: str,
    system: dict[str, str],
    client: httpx2.Client,
    actions: list[dict[str, str]],
    read_log: Callable[[], list[str]],
) -> set[str]:
    """The same Noojee dial with one idempotencyKey, sent at once on connections of their own
    until both workers have answered it: one call is placed, every answer is its SessionID.
    Returns the workers that answered it."""
    extension, number, key = "5999", "0390005999", "two-workers-1"
    user = {"userId": f"u{extension}@t1.example", "firstName": "U", "lastName": extension}
    made = client.post("/api/v1/tenants/t1/groups/g1/users/", json={**user, "extension": extension})
    assert made.status_code == 201, made.text
    params = {"extenOrUniqueId": extension, "number": number, "tenantId": "t1", "idempotencyKey": key}

    def one(_: int) -> str:
        with httpx2.Client(base_url=base_url, verify=False, timeout=20, headers=system) as own:
            answer = fresh_request(own, "POST", f"{CM}/dial", params=params)
            assert answer.status_code == 200, answer.text
            assert answer.json()["Code"] == 0, answer.text
            session_id: str = answer.json()["SessionID"]
            return session_id

    pids: set[str] = set()
    answers: list[str] = []
    for _ in range(VOLLEYS):
        with ThreadPoolExecutor(8) as pool:
            answers += pool.map(one, range(8))
        pids = worker_pids([line for line in read_log() if f"idempotencyKey={key}" in line])
        if len(pids) == 2:
            break
    assert len(set(answers)) == 1, answers
    placed = [a for a in list(actions) if a.get("Action") == "Originate" and a["Exten"] == number]
    assert [a["ChannelId"] for a in placed] == answers[:1]
    return pids
