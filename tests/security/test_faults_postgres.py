"""PostgreSQL cut mid-run behind a TCP proxy: fast 503s, whole-or-nothing writes, recovery without restart."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.engine.url import make_url

from tests.support.faults import ServerProcess, engine_of, initialised, lead_batch, make_campaign
from tests.support.intensity import scaled
from tests.support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.server

CUTS = scaled(1, 8)  # cut-and-restore cycles in one run
CUT_SECONDS = scaled(2, 12)  # how long PostgreSQL stays unreachable each time
WORKERS = 4  # client threads hammering the server throughout
FAIL_FAST_SECONDS = 5.0  # the slowest answer allowed while the database is away (measured: well under 1 s)
RECOVERY_SECONDS = 5.0  # from the restore to every operation answering again, no restart
LEADS_PER_BATCH = 25
DATABASE_AWAY = "The database is unavailable; try again shortly."


@dataclass(frozen=True)
class Answer:
    worker: int
    operation: str
    tag: str  # what a write wrote (lead external-id prefix, user id), to find it afterwards
    started: float
    elapsed: float
    status: int  # 0: no HTTP answer at all (connection error or client timeout)
    media_type: str
    body: bytes
    error: str = ""


@pytest.fixture
def pg(postgres_url: str, postgres_reset: Callable[[], None]) -> tuple[str, str]:
    """The session's PostgreSQL database, emptied and initialised: (url, global key)."""
    postgres_reset()
    return postgres_url, initialised(postgres_url)


def _operations(
    leads_path: str, key: str
) -> list[tuple[str, Callable[[httpx2.Client, str], httpx2.Response]]]:
    """What the clients do in turn: hot reads (raw asyncpg pool) and writes (psycopg engine)."""
    noojee = f"/servicemanager/rest/CampaignAPI/getCampaignList?apiKey={key}"
    return [
        ("tenant", lambda c, tag: c.get("/api/v1/tenants/t1/")),
        (
            "search",
            lambda c, tag: c.get("/api/v1/search/objects/", params={"tenant_id": "t1", "group_id": "g1"}),
        ),
        ("campaigns", lambda c, tag: c.get("/api/v1/tenants/t1/campaigns/")),
        ("noojee", lambda c, tag: c.post(noojee)),
        ("leads", lambda c, tag: c.post(leads_path, json=lead_batch(tag, LEADS_PER_BATCH))),
        (
            "user",
            lambda c, tag: c.post(
                "/api/v1/tenants/t1/groups/g1/users/",
                json={"userId": f"{tag}@t1.example", "firstName": "F", "lastName": "L"},
            ),
        ),
    ]


class Load:
    """WORKERS threads running the operations in turn until stopped, every answer recorded."""

    def __init__(self, server: ServerProcess, key: str, leads_path: str) -> None:
        self.answers: list[Answer] = []
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._operations = _operations(leads_path, key)
        self._threads = [
            threading.Thread(target=self._run, args=(n, server, key), daemon=True) for n in range(WORKERS)
        ]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(FAIL_FAST_SECONDS * 4)

    def cycles(self) -> int:
        with self.lock:
            return len(self.answers) // len(self._operations)

    def _run(self, worker: int, server: ServerProcess, key: str) -> None:
        # Timeout well past the bound: a hang shows as a measured elapsed time, not a lost thread.
        with server.client(key, timeout=FAIL_FAST_SECONDS * 3) as client:
            n = 0
            while not self._stop.is_set():
                for operation, call in self._operations:
                    n += 1
                    tag = f"w{worker}n{n}x"
                    started = time.monotonic()
                    try:
                        response = call(client, tag)
                        answer = Answer(
                            worker,
                            operation,
                            tag,
                            started,
                            time.monotonic() - started,
                            response.status_code,
                            response.headers.get("content-type", ""),
                            response.content,
                        )
                    except httpx2.HTTPError as exc:
                        answer = Answer(
                            worker, operation, tag, started, time.monotonic() - started, 0, "", b"", repr(exc)
                        )
                    with self.lock:
                        self.answers.append(answer)


def _is_database_503(answer: Answer) -> bool:
    if answer.status != 503:
        return False
    body = orjson.loads(answer.body)
    if answer.operation == "noojee":  # Noojee's envelope: the code is minus the status
        return bool(body["Code"] == -503 and body["Message"] == DATABASE_AWAY)
    return answer.media_type == "application/problem+json" and body == {
        "type": "about:blank",
        "title": "Service Unavailable",
        "status": 503,
        "detail": DATABASE_AWAY,
    }


def _healed(load: Load, since: float) -> Callable[[], bool]:
    """True once every worker has had every operation succeed, started after `since`."""
    everything = {(w, op) for w in range(WORKERS) for op, _ in _operations("", "")}

    def check() -> bool:
        with load.lock:
            done = {(a.worker, a.operation) for a in load.answers if a.started > since and a.status < 300}
        return done >= everything

    return check


def _wait_for(check: Callable[[], bool], what: str, seconds: float) -> float:
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < seconds, f"timed out waiting for {what}"
        time.sleep(0.05)
    return time.monotonic() - started


@pytest.fixture
def proxied(pg: tuple[str, str], tmp_path: Path) -> Iterator[tuple[ServerProcess, TcpProxy, str, str]]:
    """A real server whose every PostgreSQL connection goes through the proxy: (server, proxy, direct
    url for the test's own checks, global key)."""
    url, key = pg
    direct = make_url(url)
    with TcpProxy(direct.host or "127.0.0.1", direct.port or 5432) as proxy:
        through = direct.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        server = ServerProcess(tmp_path / "data", through)
        server.start()
        try:
            yield server, proxy, url, key
        finally:
            server.stop()


def test_postgres_cut_mid_run_fails_fast_writes_whole_or_not_and_recovers_by_itself(
    proxied: tuple[ServerProcess, TcpProxy, str, str],
) -> None:
    server, proxy, url, key = proxied
    with server.client(key) as admin:
        leads_path = make_campaign(admin)
        pid = server.pid
        windows: list[tuple[float, float]] = []  # (cut, restore) moments
        refused_while_cut = 0
        recoveries: list[float] = []  # seconds from a restore to every operation answering again
        with Load(server, key, leads_path) as load:
            _wait_for(lambda: load.cycles() >= WORKERS, "the load to warm up", 30)
            for _ in range(CUTS):
                accepted_before = proxy.accepted
                cut_at = time.monotonic()
                proxy.cut()
                time.sleep(0.2)  # requests in flight at the cut have failed by now
                ready = admin.get("/readyz")
                assert ready.status_code == 503, ready.text
                assert ready.json()["checks"]["database"].startswith("unavailable")
                # Refused at the perimeter (a forwarded-for header from an untrusted peer): no database
                # needed to answer, but the refusal's audit entry waits in memory for the database.
                for _ in range(3):
                    spoofed = admin.get("/api/v1/tenants/", headers={"X-Forwarded-For": "203.0.113.9"})
                    assert spoofed.status_code == 403
                    refused_while_cut += 1
                time.sleep(max(0.0, CUT_SECONDS - (time.monotonic() - cut_at)))
                restore_at = time.monotonic()
                proxy.restore()
                windows.append((cut_at, restore_at))
                recoveries.append(_wait_for(_healed(load, restore_at), "every operation to answer", 30))
                # The server reconnected by itself (same process, new connections through the proxy).
                assert proxy.accepted > accepted_before
                assert admin.get("/readyz").status_code == 200
            healed_at = time.monotonic()
            time.sleep(1.0)  # the load goes on: after the recovery nothing fails any more
            end_of_run = time.monotonic()
        assert server.process is not None
        assert server.process.poll() is None
        assert server.pid == pid  # the same process throughout: no restart

    answers = load.answers
    problems = [a for a in answers if a.status == 0 or (a.status >= 300 and not _is_database_503(a))]
    assert problems == [], problems[:5]
    slowest = max(a.elapsed for a in answers)
    assert slowest < FAIL_FAST_SECONDS, f"an answer took {slowest:.2f} s"
    refused = [a for a in answers if a.status == 503]
    assert refused, "no request met the cut"

    def in_cut(answer: Answer) -> bool:  # started once the cut took effect, ended before the restore
        ended = answer.started + answer.elapsed
        return any(cut + 0.1 < answer.started and ended < back for cut, back in windows)

    # With PostgreSQL away no write can succeed: every write wholly inside a cut was refused.
    writes_in_cut = [a for a in answers if in_cut(a) and a.operation in ("leads", "user")]
    assert writes_in_cut
    assert {a.status for a in writes_in_cut} == {503}
    assert max(recoveries) < RECOVERY_SECONDS, recoveries
    # No flapping after the recovery, no pooled connection left broken by the cut.
    late = [a for a in answers if healed_at < a.started < end_of_run]
    assert late
    assert all(a.status < 300 for a in late), Counter(a.status for a in late)

    engine = engine_of(url)
    try:
        _check_writes_whole_or_absent(engine, answers)
        # The refusals' audit entries, held in memory while the database was away, were written
        # once it came back (the maintenance flush retries them rather than dropping them).
        _wait_for(
            lambda: (
                _scalar(engine, "SELECT count(*) FROM audit_log WHERE reason_code = 'perimeter'")
                == refused_while_cut
            ),
            "the audit entries buffered during the cut",
            10,
        )
        # Events written before and after the cut are all numbered: the sequencer recovered too.
        _wait_for(
            lambda: _scalar(engine, "SELECT count(*) FROM events WHERE seq IS NULL") == 0,
            "every event to be numbered",
            10,
        )
    finally:
        engine.dispose()
    print(  # the measured figures, for the report (pytest -s)
        f"cuts={len(windows)} answers={len(answers)} refused={len(refused)} "
        f"slowest={slowest:.3f}s slowest-refusal={max(a.elapsed for a in refused):.3f}s "
        f"recovery={max(recoveries):.2f}s"
    )


def _scalar(engine: Any, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


def _check_writes_whole_or_absent(engine: Any, answers: list[Answer]) -> None:
    """Each lead batch is all there or all absent, with exactly one lead.created event per lead; an
    acknowledged write is there. (A refused one may be there too: a cut between COMMIT and its
    acknowledgement is indistinguishable from one before COMMIT, for the server as for the client.)"""
    with engine.connect() as conn:
        lead_ids = list(conn.execute(text("SELECT external_id FROM leads")).scalars())
        events = Counter(
            (orjson.loads(data) if isinstance(data, str) else data)["externalId"]
            for data in conn.execute(text("SELECT data FROM events WHERE kind = 'lead.created'")).scalars()
        )
        users = set(conn.execute(text("SELECT user_id FROM users")).scalars())
    # The transactional outbox: one lead.created event per lead, none for a lead that is not there.
    assert events == Counter(lead_ids), "a lead without its event, or an event without its lead"
    leads = Counter(external_id[: external_id.index("x") + 1] for external_id in lead_ids)
    for answer in answers:
        if answer.operation == "leads":
            assert leads.get(answer.tag, 0) in (0, LEADS_PER_BATCH), (answer.tag, leads.get(answer.tag))
            if answer.status == 200:
                assert {row["code"] for row in orjson.loads(answer.body)["results"]} == {0}, answer.body[:300]
                assert leads[answer.tag] == LEADS_PER_BATCH, answer.tag
        elif answer.operation == "user" and answer.status == 201:
            assert any(u.startswith(answer.tag) for u in users), answer.tag
