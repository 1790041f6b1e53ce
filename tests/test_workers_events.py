"""`switchboard serve --workers 2` on PostgreSQL: subscribe wake-ups and webhook deliveries cross workers.

Which worker serves a request is up to the kernel (both accept on one socket), so every request
goes on a connection of its own and the server's access log (each line names its process) tells
afterwards which worker served what.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import select

from switchboard.db.engine import Database
from switchboard.events.models import WebhookDelivery
from tests.support.server import fresh_request, running_server, server_log_path, worker_pids
from tests.support.webhook_receiver import Receiver, readme_verify

pytestmark = pytest.mark.server

CM = "/servicemanager/rest/CallManagementAPI"
POLLS = 6  # long-polls per trial, each on its own connection: they land on both workers
# Seconds from sending the dial to each poll's answer. Well under the change feed's 1 s safety-net
# re-read on PostgreSQL: a wake-up that did not come by NOTIFY would miss it about half the time,
# so CROSSINGS such trials all passing by luck is a 1-in-32 chance.
WAKE_BOUND = 0.5
CROSSINGS = 5  # trials in which a poll and the dial were served by different workers
WAIT_FIRST = 1.0  # the polls are left waiting this long before the event


def server_log(data_dir: Path, port: int) -> list[str]:
    """The running server's log so far."""
    return server_log_path(data_dir, port).read_text().splitlines()


def wait_for_both_workers(client: httpx2.Client, data_dir: Path, port: int) -> None:
    """Until each of the two worker processes has served a request (each has started)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert fresh_request(client, "GET", "/healthz").status_code == 200
        if len(worker_pids(server_log(data_dir, port))) == 2:
            return
    raise AssertionError(f"only {worker_pids(server_log(data_dir, port))} served requests in 30 s")


def access_lines(data_dir: Path, port: int, request: str, count: int) -> list[tuple[str, float]]:
    """(pid, milliseconds) of the access-log lines of `request` ("POST /path?query"), once there
    are `count` of them (a line is written when its response is sent)."""
    pattern = re.compile(
        rf'^\S+ \S+ (\d+) INFO switchboard\.access \S+ "{re.escape(request)}" 200 ([\d.]+)ms$'
    )
    deadline = time.monotonic() + 10
    while True:
        found = [
            (m.group(1), float(m.group(2)))
            for line in server_log(data_dir, port)
            if (m := pattern.match(line))
        ]
        if len(found) >= count or time.monotonic() > deadline:
            assert len(found) == count, (request, found)
            return found
        time.sleep(0.05)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


def test_a_long_poll_in_one_worker_is_woken_by_an_event_made_in_the_other(
    pg_system: tuple[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, global_key = pg_system
    data_dir = tmp_path / "data"
    system = {"Authorization": f"Bearer {global_key}"}
    # Each trial's call ends by itself (the tenant's cap on API-dialled calls at once is 10).
    monkeypatch.setenv("SWITCHBOARD_SIM_HANGUP_SECONDS", "1")
    with running_server(data_dir, url, "--workers", "2") as (port, _):
        client = httpx2.Client(base_url=f"https://127.0.0.1:{port}", verify=False, timeout=10)
        wait_for_both_workers(client, data_dir, port)
        # Polls held longer than the default cap (4 s): the event, not the cap, must answer them.
        capped = fresh_request(
            client, "PATCH", "/api/v1/settings/", json={"noojeeSubscribeMaxWaitSeconds": 30}, headers=system
        )
        assert capped.status_code == 200, capped.text
        for path, body in [
            ("/api/v1/tenants/", {"tenantId": "t1", "type": "Enterprise"}),
            ("/api/v1/tenants/t1/domains/", {"domain": "t1.example"}),
            ("/api/v1/tenants/t1/groups/", {"groupId": "g1"}),
        ] + [
            (
                "/api/v1/tenants/t1/groups/g1/users/",
                {
                    "userId": f"u{n}@t1.example",
                    "firstName": "U",
                    "lastName": f"{n}",
                    "extension": f"2{n:02d}",
                },
            )
            for n in range(10)
        ]:
            made = fresh_request(client, "POST", path, json=body, headers=system)
            assert made.status_code == 201, made.text

        crossed: list[tuple[str, set[str]]] = []
        trials = []
        for n in range(10):  # each trial on an extension of its own, until CROSSINGS crossed workers
            exten = f"2{n:02d}"
            base = {"exten": exten, "tenantId": "t1"}
            snapshot = fresh_request(
                client, "POST", f"{CM}/subscribe", params={**base, "timeOut": 0}, headers=system
            ).json()
            assert snapshot["Code"] == 0, snapshot
            seq = snapshot["seq"]
            params = {"exten": exten, "lastSequenceNumber": seq, "timeOut": 30, "tenantId": "t1"}
            answers: list[tuple[float, Any]] = []

            def poll(params: dict[str, Any] = params, answers: list[tuple[float, Any]] = answers) -> None:
                with httpx2.Client(base_url=f"https://127.0.0.1:{port}", verify=False, timeout=40) as own:
                    answered = own.post(f"{CM}/subscribe", params=params, headers=system)
                    answers.append((time.monotonic(), answered.json()))

            waiters = [threading.Thread(target=poll) for _ in range(POLLS)]
            for waiter in waiters:
                waiter.start()
            time.sleep(WAIT_FIRST)  # the polls wait: nothing happens on this extension meanwhile
            assert answers == [], "a poll answered before any event on its extension"
            sent = time.monotonic()
            dialled = fresh_request(
                client,
                "POST",
                f"{CM}/dial",
                params={"extenOrUniqueId": exten, "number": "0390001234", "tenantId": "t1"},
                headers=system,
            ).json()
            assert dialled["Code"] == 0, dialled
            for waiter in waiters:
                waiter.join(15)
                assert not waiter.is_alive()
            assert len(answers) == POLLS
            for answered_at, body in answers:
                assert body["Code"] == 0, body
                first = body["Data"][exten][0]["CallData"]
                assert (first["uniqueCallId"], first["status"]) == (dialled["SessionID"], "Dialing Out")
                assert body["seq"] > seq
                assert answered_at - sent < WAKE_BOUND, answered_at - sent
            query = "&".join(f"{k}={v}" for k, v in params.items())
            polls = access_lines(data_dir, port, f"POST {CM}/subscribe?{query}", POLLS)
            # Each poll was held by the server until the event, not answered on arrival.
            assert all(ms >= WAIT_FIRST * 1000 * 0.8 for _, ms in polls), polls
            ((dial_pid, _),) = access_lines(
                data_dir, port, f"POST {CM}/dial?extenOrUniqueId={exten}&number=0390001234&tenantId=t1", 1
            )
            other = {pid for pid, _ in polls} - {dial_pid}
            trials.append((dial_pid, [pid for pid, _ in polls]))
            if other:
                crossed.append((dial_pid, other))
            if len(crossed) == CROSSINGS:
                break
        client.close()
    assert len(crossed) == CROSSINGS, f"too few trials had a poll in another worker than the dial: {trials}"


def test_a_webhook_registered_through_one_worker_is_delivered_once_with_two(
    pg_system: tuple[str, str],
    tmp_path: Path,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Both serve workers deliver (SWITCHBOARD_WEBHOOK_WORKER defaults to true); each event
    reaches the receiver once, signed with the secret the API showed (so both processes share
    the data directory's webhook key). The test receiver speaks plain HTTP, which webhooks may
    use only in development mode: the server runs with --insecure-http on loopback."""
    url, global_key = pg_system
    data_dir = tmp_path / "data"
    system = {"Authorization": f"Bearer {global_key}"}
    monkeypatch.setenv("SWITCHBOARD_WEBHOOK_ALLOWED_NETWORKS", "127.0.0.0/8")
    accounts = 20
    with running_server(data_dir, url, "--workers", "2", "--insecure-http") as (port, _):
        client = httpx2.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
        wait_for_both_workers(client, data_dir, port)
        made = fresh_request(
            client,
            "POST",
            "/api/v1/webhooks/",
            json={"url": receiver.url, "eventTypes": ["account.*"]},
            headers=system,
        )
        assert made.status_code == 201, made.text
        hook = made.json()
        before = len(server_log(data_dir, port))
        for n in range(accounts):  # account.created events, made through both workers
            body = {"username": f"agent{n:02d}", "password": "a long enough password", "role": "system"}
            assert (
                fresh_request(client, "POST", "/api/v1/accounts/", json=body, headers=system).status_code
                == 201
            )
        assert len(worker_pids(server_log(data_dir, port), before)) == 2, (
            "both workers should have made events"
        )
        receiver.wait_for(lambda seen: len({r.headers["Switchboard-Event-Id"] for r in seen}) >= accounts, 30)
        # Until every delivery is recorded as done: a second send of one would be in the log by then.
        db = Database(url)
        try:
            deadline = time.monotonic() + 15
            while True:
                with db.transaction() as session:
                    deliveries = list(
                        session.scalars(
                            select(WebhookDelivery).where(WebhookDelivery.webhook_pk == hook["id"])
                        )
                    )
                if all(d.status == "delivered" for d in deliveries) or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
        finally:
            db.engine.dispose()
        log = fresh_request(
            client, "GET", f"/api/v1/webhooks/{hook['id']}/deliveries/", params={"limit": 100}, headers=system
        ).json()
        client.close()
    assert [d.status for d in deliveries] == ["delivered"] * accounts  # one delivery per event
    assert len({d.event_seq for d in deliveries}) == accounts
    attempts = log["deliveryAttempts"]
    assert len(attempts) == accounts  # one attempt each: nothing sent twice
    assert {a["attempt"] for a in attempts} == {1}
    assert {a["statusCode"] for a in attempts} == {200}
    received = receiver.received
    assert Counter(r.headers["Switchboard-Event-Id"] for r in received) == Counter(
        {str(d.event_seq): 1 for d in deliveries}
    )
    assert sorted(r.json["data"]["username"] for r in received) == [f"agent{n:02d}" for n in range(accounts)]
    verify = readme_verify()  # as a receiver would check them
    assert all(verify(hook["secret"], r.headers["Switchboard-Signature"], r.body) for r in received)
