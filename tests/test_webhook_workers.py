"""`switchboard worker` processes: killed mid-batch loses nothing; two never send one attempt twice."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from switchboard.access.principal import CLI_PRINCIPAL
from switchboard.db.engine import Database
from switchboard.events.log import record_event
from switchboard.events.models import WebhookDelivery
from switchboard.events.signing import SecretBox
from switchboard.events.webhooks import create_webhook, vetted_url
from switchboard.settings import Settings
from tests.support.webhook_receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


def worker_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "SWITCHBOARD_DATABASE_URL": settings.effective_database_url,
        "SWITCHBOARD_DATA_DIR": str(settings.data_dir),
        "SWITCHBOARD_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
        "SWITCHBOARD_INSECURE_HTTP": "true",
        "SWITCHBOARD_LOG_LEVEL": "warning",
        **extra,
    }
    return env


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "switchboard", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def stop(process: subprocess.Popen[bytes]) -> str:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        _, stderr = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate()
    return stderr.decode(errors="replace")


def subscribe_and_queue(db: Database, settings: Settings, receiver: Receiver, events: int) -> set[str]:
    """A subscription to every event, then `events` events; their ids once numbered are what
    the receiver must see (the worker's sequencer numbers them: no server runs here)."""
    url = asyncio.run(vetted_url(receiver.url, settings.model_copy(update={"insecure_http": True})))
    with db.transaction() as session:
        create_webhook(
            session,
            CLI_PRINCIPAL,
            SecretBox.from_settings(settings),
            url=url,
            event_types=["lead.*"],
            tenant_id=None,
            description="",
        )
    time.sleep(0.01)  # events strictly after the subscription
    with db.transaction() as session:
        for n in range(events):
            record_event(session, "lead.created", None, {"n": n})
    return {str(n) for n in range(2, 2 + events)}  # the log starts at 1: numbers 2, 3, ...


def delivered_ids(receiver: Receiver) -> list[str]:
    return [r.headers["Switchboard-Event-Id"] for r in receiver.received]


def test_a_worker_killed_mid_batch_loses_nothing(
    db: Database, settings: Settings, global_key: str, receiver: Receiver
) -> None:
    receiver.delay = 0.3  # slow: the kill lands while requests are in flight
    expected = subscribe_and_queue(db, settings, receiver, 40)
    env = worker_env(settings, SWITCHBOARD_WEBHOOK_LEASE_SECONDS="1", SWITCHBOARD_WEBHOOK_TIMEOUT_SECONDS="5")
    first = start_worker(env)
    try:
        receiver.wait_for(lambda seen: len(seen) >= 5, 30)
    finally:
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=10)
    assert first.returncode == -signal.SIGKILL
    before_restart = set(delivered_ids(receiver))
    assert before_restart < expected  # killed part-way
    with db.transaction() as session:
        in_flight = session.scalar(
            select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.status == "pending")
        )
    assert in_flight  # deliveries claimed or queued when it died
    second = start_worker(env)
    try:
        receiver.wait_for(lambda seen: {r.headers["Switchboard-Event-Id"] for r in seen} >= expected, 60)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with db.transaction() as session:
                pending = session.scalar(
                    select(func.count())
                    .select_from(WebhookDelivery)
                    .where(WebhookDelivery.status != "delivered")
                )
            if pending == 0:
                break
            time.sleep(0.1)
        assert pending == 0
    finally:
        errors = stop(second)
    assert set(delivered_ids(receiver)) == expected, errors
    assert second.returncode == 0, errors


def test_two_workers_never_send_the_same_attempt(
    db: Database, settings: Settings, global_key: str, receiver: Receiver
) -> None:
    receiver.delay = 0.02
    expected = subscribe_and_queue(db, settings, receiver, 80)
    env = worker_env(settings, SWITCHBOARD_WEBHOOK_CONCURRENCY="4")
    workers = [start_worker(env), start_worker(env)]
    try:
        receiver.wait_for(lambda seen: {r.headers["Switchboard-Event-Id"] for r in seen} >= expected, 60)
        time.sleep(0.5)  # anything sent twice would arrive by now
    finally:
        outputs = [stop(worker) for worker in workers]
    attempts = Counter(
        (r.headers["Switchboard-Delivery"], r.headers["Switchboard-Attempt"]) for r in receiver.received
    )
    assert max(attempts.values()) == 1, attempts.most_common(3)
    assert Counter(delivered_ids(receiver)) == Counter(expected), outputs  # each event once: none failed
    assert all(worker.returncode == 0 for worker in workers), outputs


def test_the_worker_refuses_to_start_uninitialised(tmp_path: Path) -> None:
    env = {**os.environ, "SWITCHBOARD_DATA_DIR": str(tmp_path / "nothing")}
    done = subprocess.run(
        [sys.executable, "-m", "switchboard", "worker"], env=env, capture_output=True, timeout=60, check=False
    )
    assert done.returncode == 2
    assert b"switchboard init" in done.stderr
