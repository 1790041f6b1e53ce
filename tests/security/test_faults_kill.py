"""SIGKILL of a real server process mid-work: an API import job, and webhook deliveries of events the
server is writing. After a restart: nothing lost, no duplicate rows, duplicate deliveries share an id."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx2
import orjson
import pytest
from sqlalchemy import text

from switchboard.bulk import BATCH_SIZE
from switchboard.db.base import utcnow
from tests.support.bulk import big_tenant_file
from tests.support.faults import ServerProcess, engine_of, lead_batch, make_campaign, ok
from tests.support.intensity import scaled
from tests.support.webhook_receiver import Receiver

pytestmark = pytest.mark.server

IMPORT = "/api/v1/import/"
KILLS = scaled(1, 4)  # each during a later batch of the import than the last
USERS = (KILLS + 1) * BATCH_SIZE - 500  # KILLS + 1 batches, the last one short: each kill lands in a load
LEADS_PER_REQUEST = 10
DELIVERIES_BEFORE_KILL = 30


def _scalar(url: str, sql: str) -> int:
    engine = engine_of(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(sql)).scalar_one())
    finally:
        engine.dispose()


def _rows(url: str, sql: str) -> list[Any]:
    engine = engine_of(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql)))
    finally:
        engine.dispose()


def _wait_for(check: Callable[[], bool], what: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


# -- the import job ----------------------------------------------------------------------------------


def _import_file(path: Path) -> bytes:
    body = big_tenant_file(USERS)
    path.write_bytes(body)
    return body


def _start_import(client: httpx2.Client, body: bytes) -> str:
    started = client.post(IMPORT, content=body, headers={"Content-Type": "application/x-ndjson"})
    job_id: str = ok(started, 202)["id"]
    return job_id


def _job(client: httpx2.Client, job_id: str) -> dict[str, Any]:
    job: dict[str, Any] = ok(client.get(f"{IMPORT}{job_id}/"), 200)
    return job


def _age_jobs(url: str) -> None:
    """Move the running jobs' heartbeats two minutes back, as if that long had passed."""
    engine = engine_of(url)
    try:
        with engine.begin() as conn:
            aged = conn.execute(
                text("UPDATE import_jobs SET updated_at = :at WHERE status = 'running'"),
                {"at": utcnow() - timedelta(minutes=2)},
            )
            assert aged.rowcount == KILLS, "each killed job is left running"
    finally:
        engine.dispose()


# -- webhook delivery --------------------------------------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver(delay=0.05)  # slow enough that deliveries are in flight at the kill
    yield found
    found.close()


class LeadWriter:
    """Inserts batches of leads through the API until stopped or the server goes; every answer kept."""

    def __init__(self, client: httpx2.Client, path: str, prefix: str) -> None:
        self.answers: dict[str, int] = {}  # batch prefix -> status (0: no answer, the server died)
        self._client, self._path, self._prefix = client, path, prefix
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            tag = f"{self._prefix}b{n}x"
            n += 1
            try:
                status = self._client.post(self._path, json=lead_batch(tag, LEADS_PER_REQUEST)).status_code
            except httpx2.HTTPError:
                self.answers[tag] = 0
                return
            self.answers[tag] = status

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)


def test_a_server_killed_mid_import_and_mid_delivery_loses_nothing_and_duplicates_nothing(
    database_url: str, global_key: str, tmp_path: Path, receiver: Receiver
) -> None:
    """One kill lands on both: an import job in its load phase, and a stream of lead inserts whose
    events are being numbered, fanned out and POSTed to a webhook receiver."""
    body = _import_file(tmp_path / "big.jsonl")
    checkpoints = tmp_path / "data" / "imports"
    server = ServerProcess(
        tmp_path / "data",
        database_url,
        SWITCHBOARD_WEBHOOK_ALLOWED_NETWORKS="127.0.0.0/8",
        SWITCHBOARD_WEBHOOK_TIMEOUT_SECONDS="1",
        SWITCHBOARD_WEBHOOK_LEASE_SECONDS="1",  # a dead worker's claims come due again 2 s later
        SWITCHBOARD_WEBHOOK_BACKOFF_SECONDS="0.2",
        SWITCHBOARD_LOG_LEVEL="warning",
    )
    answers: dict[str, int] = {}  # lead batch -> status
    killed_jobs: list[str] = []
    saved = 0  # the import's checkpoint at the last kill
    try:
        for kill in range(KILLS):
            server.start()
            with server.client(global_key) as client:
                if kill == 0:
                    leads_path = make_campaign(client)
                    ok(client.post("/api/v1/webhooks/", json={"url": receiver.url, "eventTypes": ["lead.*"]}))
                writer = LeadWriter(client, leads_path, f"k{kill}")
                seen = len(receiver.received)
                receiver.wait_for(lambda got: len(got) >= seen + DELIVERIES_BEFORE_KILL, 60)  # noqa: B023
                job_id = _start_import(client, body)
                committed_before = _scalar(database_url, "SELECT count(*) FROM users")
                # Killed while it loads the batch after the next one to commit.
                target = (committed_before + 3 if committed_before else 0) + BATCH_SIZE
                _wait_for(
                    lambda: _job(client, job_id)["rowsLoaded"] >= target,  # noqa: B023 -- read at once
                    "the load to pass a batch",
                    120,
                )
                job = _job(client, job_id)
                server.kill()
                writer.stop()
            answers |= writer.answers
            assert writer.answers, "no lead was being written"
            assert (job["status"], job["phase"]) == ("running", "loading"), job
            killed_jobs.append(job_id)
            saved = _check_import_killed(database_url, checkpoints, job)
        # A killed job's heartbeat stops: once stale it reads as interrupted (here: made stale).
        _age_jobs(database_url)
        server.start()
        with server.client(global_key) as client:
            for job_id in killed_jobs:
                assert _job(client, job_id)["status"] == "interrupted"
            resumed_id = _start_import(client, body)
            # One more batch of leads after the last restart: the pipeline works again end to end.
            ok(client.post(leads_path, json=lead_batch("afterx", LEADS_PER_REQUEST)), 200)
            answers["afterx"] = 200
            _wait_for(lambda: _job(client, resumed_id)["status"] != "running", "the resumed import", 180)
            resumed = _job(client, resumed_id)
            _wait_for(lambda: _all_delivered(database_url), "every delivery to be made", 60)
    finally:
        server.stop()
    _check_import_resumed(database_url, checkpoints, resumed, saved)
    _check_events_and_deliveries(database_url, answers, receiver)


def _check_import_killed(url: str, checkpoints: Path, job: dict[str, Any]) -> int:
    """Whole batches only; the checkpoint lags the commits by at most a batch, never leads. Returns it."""
    committed = _scalar(url, "SELECT count(*) FROM users") + 3  # the tenant, domain and group came first
    assert committed % BATCH_SIZE == 0, committed
    assert job["rowsLoaded"] <= committed < USERS + 3
    saved = [json.loads(p.read_text())["rows"] for p in checkpoints.glob("import-*.json")]
    assert len(saved) == 1
    assert committed - BATCH_SIZE <= saved[0] <= committed
    return int(saved[0])


def _check_import_resumed(url: str, checkpoints: Path, resumed: dict[str, Any], saved: int) -> None:
    assert resumed["status"] == "done", resumed
    assert resumed["rowsSkipped"] == saved  # resumed after the last checkpoint, not from the top
    assert (resumed["rowsLoaded"], resumed["problemCount"]) == (USERS + 3, 0)
    # A batch written twice (committed, then killed before its checkpoint) was upserted: no duplicates.
    assert _scalar(url, "SELECT count(*) FROM users") == USERS
    assert _scalar(url, "SELECT count(DISTINCT user_id) FROM users") == USERS
    assert _scalar(url, "SELECT count(*) FROM tenants WHERE tenant_id = 'big'") == 1
    assert _scalar(url, "SELECT count(*) FROM groups WHERE group_id = 'all'") == 1
    assert list(checkpoints.glob("import-*.json")) == []  # done: nothing left to resume


def _check_events_and_deliveries(url: str, answers: dict[str, int], receiver: Receiver) -> None:
    events = _rows(url, "SELECT seq, data FROM events WHERE kind = 'lead.created'")
    leads = [row[0] for row in _rows(url, "SELECT external_id FROM leads")]
    # The outbox: one event per lead, none for a lead that is not there, every one numbered once.
    assert Counter(_data(data)["externalId"] for _, data in events) == Counter(leads)
    seqs = [seq for seq, _ in events]
    assert None not in seqs
    assert len(seqs) == len(set(seqs))
    # Each batch of leads is whole or absent; an acknowledged one is there.
    per_batch = Counter(external_id[: external_id.index("x") + 1] for external_id in leads)
    for tag, status in answers.items():
        assert per_batch.get(tag, 0) in (0, LEADS_PER_REQUEST), tag
        if status == 200:
            assert per_batch[tag] == LEADS_PER_REQUEST, tag
    # One delivery row per event: fan-out never queued an event twice, whoever died when.
    deliveries = _rows(url, "SELECT event_seq, status FROM webhook_deliveries")
    assert Counter(seq for seq, _ in deliveries) == Counter(seqs)
    assert {status for _, status in deliveries} == {"delivered"}
    # At least once: every event reached the receiver. A delivery cut short by the kill may arrive
    # twice, but as the same delivery of the same event, byte for byte: receivers dedupe on its id.
    copies: dict[str, list[Any]] = defaultdict(list)
    for request in receiver.received:
        copies[request.headers["Switchboard-Event-Id"]].append(request)
    assert set(copies) == {str(seq) for seq in seqs}
    for event_id, sent in copies.items():
        assert {orjson.loads(r.body)["id"] for r in sent} == {int(event_id)}
        assert len({r.body for r in sent}) == 1, event_id
        assert len({r.headers["Switchboard-Delivery"] for r in sent}) == 1, event_id
        attempts = [int(r.headers["Switchboard-Attempt"]) for r in sent]
        assert len(attempts) == len(set(attempts)), (event_id, attempts)  # a repeat is a new attempt
    duplicates = sum(len(sent) - 1 for sent in copies.values())
    print(f"events={len(seqs)} deliveries={len(receiver.received)} duplicates={duplicates}")


def _data(value: Any) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(value) if isinstance(value, str) else value
    return data


def _all_delivered(url: str) -> bool:
    unnumbered = _scalar(url, "SELECT count(*) FROM events WHERE seq IS NULL")
    cursor = _scalar(
        url, "SELECT coalesce(max(value), 0) FROM change_counters WHERE channel = 'webhooks.cursor'"
    )
    top = _scalar(url, "SELECT coalesce(max(seq), 0) FROM events")
    waiting = _scalar(url, "SELECT count(*) FROM webhook_deliveries WHERE status <> 'delivered'")
    return unnumbered == 0 and cursor >= top and waiting == 0
