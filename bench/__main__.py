"""python -m bench: floor route vs. hot routes on one server worker, load from wrk on loopback.

For each engine: generate (or reuse) a directory of N users, start `switchboard serve` with one
worker, then run wrk against the floor route and each measured route in turn (same server, same
run), reading the server's CPU time from /proc before and after each run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine.url import make_url
from sqlalchemy.orm import Session

from bench import subscribe
from bench.bare_floor import serving_bare_floor
from bench.generate import (
    CAMPAIGNS_PER_TEMPLATE,
    GROUPS_PER_TENANT,
    USERS_PER_GROUP,
    bench_user_id,
    generate,
    generate_contact_centre,
)
from bench.process import cpu_seconds, peak_rss_mb, serving_process
from switchboard.access.accounts import create_account
from switchboard.contact_centre.models import Campaign, Team, TeamMember
from switchboard.db.engine import Database, sync_url
from switchboard.db.migrate import upgrade
from switchboard.system.bootstrap import initialise

RESULTS = Path(__file__).parent / "results"
BARE_FLOOR = "bare_fastapi_floor"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Measurement:
    engine: str
    users: int
    case: str
    requests: int
    errors: int
    rps: float
    p50_ms: float
    p99_ms: float
    cpu_us_per_request: float


def _latency_ms(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", value)
    if match is None:
        raise ValueError(f"unexpected wrk latency {value!r}")
    number, unit = match.groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1e3, "m": 6e4, "h": 3.6e6}[unit]


@dataclass(frozen=True)
class Call:
    """One request wrk may send: it picks one of a case's calls at random each time."""

    path: str
    headers: dict[str, str]
    body: str | None = None
    method: str = "GET"


def _wrk_script(calls: list[Call], directory: Path) -> Path:
    def lua(value: str | None) -> str:
        return "nil" if value is None else json.dumps(value)

    entries = []
    for call in calls:
        headers = ", ".join(f"[{lua(k)}] = {lua(v)}" for k, v in call.headers.items())
        entries.append(f"{{{lua(call.method)}, {lua(call.path)}, {{{headers}}}, {lua(call.body)}}}")
    lines = [
        "local calls = {" + ",\n".join(entries) + "}",
        "math.randomseed(42)",
        "request = function()",
        "  local c = calls[math.random(#calls)]",
        "  return wrk.format(c[1], c[2], c[3], c[4])",
        "end",
    ]
    script = directory / f"wrk-{random.randrange(10**9)}.lua"
    script.write_text("\n".join(lines) + "\n")
    return script


def run_wrk(
    base: str, pid: int, script: Path, seconds: int, connections: int, timeout_seconds: int = 2
) -> tuple[int, int, float, float, float, float]:
    """wrk's figures: requests, errors (non-2xx/3xx, socket errors and answers slower than the
    timeout), requests/s, p50 and p99 in ms, and the server's CPU seconds."""
    before = cpu_seconds(pid)
    output = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            f"--timeout={timeout_seconds}s",
            "--latency",
            "-s",
            str(script),
            base,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    cpu = cpu_seconds(pid) - before
    if "requests in" not in output or "Latency Distribution" not in output:
        raise RuntimeError(f"wrk gave no figures:\n{output}")
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = _latency_ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1))  # type: ignore[union-attr]
    p99 = _latency_ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = int(bad.group(1)) if bad else 0
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if socket_errors:
        errors += sum(int(x) for x in socket_errors.groups())
    return requests, errors, rps, p50, p99, cpu


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def prepare_database(engine: str, users: int, workdir: Path, pg_base: str) -> str:
    if engine == "sqlite":
        url = f"sqlite:///{workdir / f'bench-{users}.db'}"
    else:
        name = f"sb_bench_{users}"
        admin = create_engine(sync_url(pg_base), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = make_url(pg_base).set(database=name).render_as_string(hide_password=False)
    fill_database(url, users)
    return url


def fill_database(url: str, users: int) -> None:
    """Migrate an empty database and generate the bench's directory and contact centre in it."""
    engine = make_url(url).get_backend_name()
    upgrade(url)
    db = Database(url)
    print(f"[{engine}] generating {users:,} users ...", flush=True)
    generate(db, users)
    generate_contact_centre(db)
    if engine == "postgresql":
        with db.engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()
    db.engine.dispose()


@dataclass
class Credentials:
    global_key: str
    admin_token: str  # a tenant admin of bench0
    end_users: list[tuple[str, str, str, str]]  # (token, tenant, group, userId) of linked end users
    agent_key: str  # user API key of an agent in 50 teams of bench0 (500 campaigns of 10k visible)
    campaign: tuple[int, int]  # (template, campaign) of bench0 for the lead insert


def fresh_credentials(url: str, users: int, end_users: int = 200) -> Credentials:
    """The bench owns its database: a new global key, a tenant admin's login token, and login
    tokens of end-user accounts linked to random directory users (only digests are stored, so
    earlier credentials cannot be reused)."""
    from switchboard.access import passwords
    from switchboard.access.api_keys import issue_token
    from switchboard.access.principal import CLI_PRINCIPAL
    from switchboard.access.schemas import AccountCreate

    passwords.configure(time_cost=1, memory_kib=64)  # set-up only; the server hashes at full cost
    db = Database(url)
    with db.transaction() as session:
        session.execute(text("DELETE FROM system_settings"))
        session.execute(text("DELETE FROM accounts"))
        created = initialise(session)
        body = AccountCreate.model_validate(
            {
                "username": "bench-admin",
                "password": "bench password 123",
                "role": "tenant_admin",
                "tenantId": "bench0",
            }
        )
        token, _ = issue_token(session, create_account(session, CLI_PRINCIPAL, body), 24 * 60)
        rng = random.Random(3)
        linked = []
        for n in range(end_users):
            group, index = divmod(rng.randrange(users), USERS_PER_GROUP)
            tenant = group // GROUPS_PER_TENANT
            user_id = bench_user_id(tenant, group, index)
            account = AccountCreate.model_validate(
                {
                    "username": f"bench-user-{n}",
                    "password": "bench password 123",
                    "role": "user",
                    "tenantId": f"bench{tenant}",
                    "groupId": f"g{group:06d}",
                    "linkedUserId": user_id,
                }
            )
            user_token, _ = issue_token(session, create_account(session, CLI_PRINCIPAL, account), 24 * 60)
            linked.append((user_token, f"bench{tenant}", f"g{group:06d}", user_id))
        agent_key, campaign = _agent(session)
    db.engine.dispose()
    assert created is not None
    return Credentials(created.global_api_key, token, linked, agent_key, campaign)


AGENT_TEAMS = 50


def _agent(session: Session) -> tuple[str, tuple[int, int]]:
    """An end-user account of bench0 in 50 of its 1000 teams (spread out), with a user API key;
    and a campaign with no leads yet for the insert timing."""
    from switchboard.access.api_keys import create_api_key
    from switchboard.access.principal import CLI_PRINCIPAL
    from switchboard.access.schemas import AccountCreate, ApiKeyCreate
    from switchboard.contact_centre.models import Lead

    account = create_account(
        session,
        CLI_PRINCIPAL,
        AccountCreate.model_validate(
            {
                "username": "bench-agent",
                "password": "bench password 123",
                "role": "user",
                "tenantId": "bench0",
                "groupId": "g000000",
            }
        ),
    )
    teams = session.scalars(select(Team.pk).order_by(Team.pk)).all()
    step = len(teams) // AGENT_TEAMS
    session.execute(
        insert(TeamMember),
        [{"team_pk": pk, "account_pk": account.pk, "role": "agent"} for pk in teams[::step]],
    )
    _, key = create_api_key(session, CLI_PRINCIPAL, "bench-agent", ApiKeyCreate(name="bench"))
    used = select(Lead.campaign_pk)
    template_pk, campaign_pk = session.execute(
        select(Campaign.template_pk, Campaign.pk)
        .where(Campaign.pk.not_in(used))
        .order_by(Campaign.pk.desc())
        .limit(1)
    ).one()
    return key, (template_pk, campaign_pk)


def _profiler() -> list[str]:
    """SWITCHBOARD_BENCH_PROFILE=file: run the server under cProfile (figures then mean nothing)."""
    target = os.environ.get("SWITCHBOARD_BENCH_PROFILE")
    return ["-m", "cProfile", "-o", target] if target else []


def bench_engine(
    engine: str, users: int, seconds: int, connections: int, workdir: Path, pg_base: str, only: set[str]
) -> list[Measurement]:
    url = prepare_database(engine, users, workdir, pg_base)
    credentials = fresh_credentials(url, users)
    key, token = credentials.global_key, credentials.admin_token
    with (
        serving(url, workdir / f"data-{engine}", workdir / f"server-{engine}.log") as (server, base),
        serving_bare_floor(_free_port(), workdir / f"data-{engine}", workdir / "bare-floor.log") as bare,
    ):
        rng = random.Random(1)
        user_paths = []
        for _ in range(2000):
            n = rng.randrange(users)
            group, index = divmod(n, USERS_PER_GROUP)
            tenant = group // GROUPS_PER_TENANT
            user_id = bench_user_id(tenant, group, index)
            user_paths.append(f"/api/v1/tenants/bench{tenant}/groups/g{group:06d}/users/{user_id}/")
        n_groups = -(-users // USERS_PER_GROUP)
        n_tenants = -(-n_groups // GROUPS_PER_TENANT)
        group_lists = []
        for group in (rng.randrange(n_groups) for _ in range(500)):
            tenant = group // GROUPS_PER_TENANT
            group_lists.append(f"/api/v1/tenants/bench{tenant}/groups/g{group:06d}/users/")
        tenant_lists = [f"/api/v1/tenants/bench{rng.randrange(n_tenants)}/groups/" for _ in range(500)]
        campaign_list = f"/servicemanager/rest/CampaignAPI/getCampaignList?apiKey={credentials.agent_key}"
        auth = {"Authorization": f"Bearer {key}"}
        admin = {"Authorization": f"Bearer {token}"}
        tenant0 = [path for path in user_paths if path.startswith("/api/v1/tenants/bench0/")]
        searches = [
            Call(
                "/api/v1/search/objects/",
                {"Authorization": f"Bearer {user_token}", "Content-Type": "application/json"},
                json.dumps({"tenant_id": tenant, "group_id": group, "user_id": user_id, "type": "user"}),
            )
            for user_token, tenant, group, user_id in credentials.end_users
        ]
        cases = {
            # The headline floor: a bare FastAPI app in its own process (bench/bare_floor.py).
            BARE_FLOOR: _wrk_script([Call("/bench/floor", {})], workdir),
            "floor": _wrk_script([Call("/bench/floor", {})], workdir),
            "user_read_global_key": _wrk_script([Call(path, auth) for path in user_paths], workdir),
            # An account principal: tenant admin of bench0, policy filter in the query.
            "user_read_login_token": _wrk_script([Call(path, admin) for path in tenant0], workdir),
            # Lists (first page, with its total): a random group's users; a random tenant's groups;
            # the first 10 tenants (of 10 at 10k users, of 1k at 1M: the same page, a larger count).
            "user_list_global_key": _wrk_script([Call(path, auth) for path in group_lists], workdir),
            "group_list_global_key": _wrk_script([Call(path, auth) for path in tenant_lists], workdir),
            "tenant_list_global_key": _wrk_script([Call("/api/v1/tenants/?limit=10", auth)], workdir),
            # Seed 003: end users (200 accounts, login tokens) each searching themselves, GET + body.
            "search_objects_end_user": _wrk_script(searches, workdir),
            # Issue 5: a user key whose account is in 50 teams (500 campaigns) of a 10k-campaign tenant.
            "campaign_list_user_key": _wrk_script([Call(campaign_list, {}, None, "POST")], workdir),
        }
        _check_campaign_list(base + campaign_list, AGENT_TEAMS * CAMPAIGNS_PER_TEMPLATE)
        # Issue 6: stop -> start recording cycles, by extension (seed 000's call), tenant admin.
        cases["recording_stop_start"] = _recording_cycle(base, key, token, workdir)
        cases = {
            name: script
            for name, script in cases.items()
            if not only or name in only or name in (BARE_FLOOR, "floor")
        }
        results = []
        for round_ in range(2):  # warm-up round, then the measured round
            for case, script in cases.items():
                if case == "recording_stop_start":
                    restart_recordings(base, token)
                duration = 2 if round_ == 0 else seconds
                target, pid = (bare[1], bare[0].pid) if case == BARE_FLOOR else (base, server.pid)
                requests, errors, rps, p50, p99, cpu = run_wrk(target, pid, script, duration, connections)
                if round_ == 1:
                    results.append(
                        Measurement(
                            engine, users, case, requests, errors, rps, p50, p99, cpu / max(requests, 1) * 1e6
                        )
                    )
        PEAK_RSS.append((engine, users, peak_rss_mb(server.pid)))
        print(f"[{engine}] server peak RSS after the wrk rounds: {PEAK_RSS[-1][2]:.0f} MB")
        if not only or "insert_lead_fast_10k" in only:
            results.append(_insert_leads(base, server.pid, engine, users, key, credentials.campaign))
        if not only or "subscribe" in only:
            figures = subscribe.measure(base, server.pid, key)
            print(f"[{engine}] subscribe: {figures}")
            SUBSCRIBE_FIGURES.append((engine, figures))
        return results


@contextmanager
def serving(url: str, data_dir: Path, log_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """One `switchboard serve` worker on `url`, with the bench's settings; its process and base URL."""
    port = _free_port()
    env = {
        **os.environ,
        "SWITCHBOARD_DATABASE_URL": url,
        "SWITCHBOARD_DATA_DIR": str(data_dir),
        "SWITCHBOARD_BENCH_FLOOR_ROUTE": "1",
        # The bench is one client at full speed: lift the per-credential limit (default 30,000/min).
        "SWITCHBOARD_REQUESTS_PER_MINUTE": str(10**9),
        # The simulated PBX answers at once: the recording cycle needs connected calls.
        "SWITCHBOARD_SIM_RING_SECONDS": "0",
        "SWITCHBOARD_SIM_ANSWER_SECONDS": "0",
    }
    command = [sys.executable, *_profiler(), "-m", "switchboard", "serve", "--port", str(port)]
    with serving_process(command, env, port, log_path) as server:
        yield server, f"https://127.0.0.1:{port}"


def _post(url: str, body: bytes = b"", headers: dict[str, str] | None = None) -> Any:
    """POST to the bench server (its self-signed certificate is not verified) and decode the JSON."""
    context = ssl._create_unverified_context()  # noqa: S323 - our own server, on loopback
    request = urllib.request.Request(url, data=body, headers=headers or {}, method="POST")  # noqa: S310
    with urllib.request.urlopen(request, context=context, timeout=120) as response:  # noqa: S310
        return json.loads(response.read())


RECORDED_CALLS = 200


def _recording_cycle(base: str, key: str, token: str, workdir: Path) -> Path:
    """200 connected calls on bench0's first extensions, each being recorded; the script walks
    them in turn and alternates stop and start per pass, so a call's next request comes 200
    requests after its last one (never two in flight on one call with 16 connections)."""
    for n in range(RECORDED_CALLS):
        body = json.dumps({"to": str(1000 + n), "from": "0390000000", "tenantId": "bench0"}).encode()
        _post(f"{base}/api/v1/simulator/calls/", body, {"X-API-Key": key, "Content-Type": "application/json"})
    restart_recordings(base, token)
    paths = {
        action: [f"{CALL_API}/{action}?extenOrUniqueId={1000 + n}" for n in range(RECORDED_CALLS)]
        for action in ("stop", "start")
    }
    auth = json.dumps(f"Bearer {token}")
    lines = [
        "local stops = {" + ", ".join(json.dumps(p) for p in paths["stop"]) + "}",
        "local starts = {" + ", ".join(json.dumps(p) for p in paths["start"]) + "}",
        f"local n = 0; local size = {RECORDED_CALLS}",
        "request = function()",
        "  local i = n % size; local pass = math.floor(n / size); n = n + 1",
        "  local list = (pass % 2 == 0) and stops or starts",
        "  return wrk.format('POST', list[i + 1], {['Authorization'] = " + auth + "})",
        "end",
    ]
    script = workdir / f"wrk-cycle-{random.randrange(10**9)}.lua"
    script.write_text("\n".join(lines) + "\n")
    return script


CALL_API = "/servicemanager/rest/CallManagementAPI"
SUBSCRIBE_FIGURES: list[tuple[str, subscribe.SubscribeFigures]] = []
PEAK_RSS: list[tuple[str, int, float]] = []  # engine, users, the server's peak RSS in MB


def restart_recordings(base: str, token: str) -> None:
    """Every bench call recording again before a run (the last may have ended mid-pass)."""
    for n in range(RECORDED_CALLS):
        try:
            _post(
                f"{base}{CALL_API}/start?extenOrUniqueId={1000 + n}",
                b"",
                {"Authorization": f"Bearer {token}"},
            )
        except urllib.error.HTTPError as exc:
            if exc.code != 409:  # 409: already recording
                raise


def _check_campaign_list(url: str, expected: int) -> None:
    body = _post(url)
    if body.get("Code") != 0 or len(body["entities"]) != expected:
        raise RuntimeError(f"campaign list: expected {expected} campaigns, got {str(body)[:200]}")


LEADS = 10_000


def _insert_leads(
    base: str, pid: int, engine: str, users: int, key: str, campaign: tuple[int, int]
) -> Measurement:
    """insertLeadFast of 10k leads in one call (issue 5: under 5 s on SQLite); wall time."""
    template, campaign_pk = campaign
    rows = [
        {"firstName": f"Lead {n}", "lastName": "Bench", "phone": f"+6139{n:07d}", "njExternalLeadId": f"x{n}"}
        for n in range(LEADS)
    ]
    query = f"fTemplateId={template}&fCampaignId={campaign_pk}"
    url = f"{base}/servicemanager/rest/CampaignAPI/insertLeadFast?{query}"
    before = cpu_seconds(pid)
    started = time.perf_counter()
    answer = _post(url, json.dumps(rows).encode(), {"X-API-Key": key, "Content-Type": "application/json"})
    wall = time.perf_counter() - started
    cpu = cpu_seconds(pid) - before
    entities = answer["entities"]
    failed = sum(1 for e in entities if e["Code"] != 0) + (LEADS - len(entities))
    print(
        f"[{engine}] insertLeadFast {LEADS:,} leads: {wall:.2f} s wall, {cpu:.2f} s server CPU, "
        f"{failed} failed"
    )
    return Measurement(
        engine,
        users,
        "insert_lead_fast_10k",
        LEADS,
        failed,
        LEADS / wall,
        wall * 1e3,
        wall * 1e3,
        cpu / LEADS * 1e6,
    )


def parse_with_engines(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """The options every wrk-driven bench shares (--pg-url), parsed; wrk present, workdir made."""
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("SWITCHBOARD_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    args.workdir.mkdir(parents=True, exist_ok=True)
    return args


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--engine", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--only", default="", help="comma-separated cases to run (the floor always runs)")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "switchboard-bench")
    args = parse_with_engines(parser)
    engines = ["sqlite", "postgresql"] if args.engine == "both" else [args.engine]
    all_results: list[Measurement] = []
    for engine in engines:
        all_results += bench_engine(
            engine,
            args.users,
            args.seconds,
            args.connections,
            args.workdir,
            args.pg_url,
            set(filter(None, args.only.split(","))),
        )
    # Ratios: to the bare FastAPI floor (the headline), and to Switchboard's own floor route.
    header = ("engine", "users", "case", "req/s", "p50 ms", "p99 ms", "CPU us/req", "errors", "÷bare", "÷own")
    print("\n{:<11}{:>9}  {:<24}{:>9}{:>9}{:>9}{:>12}{:>8}{:>7}{:>7}".format(*header))
    for r in all_results:
        bare = next(x for x in all_results if x.engine == r.engine and x.case == BARE_FLOOR)
        own = next(x for x in all_results if x.engine == r.engine and x.case == "floor")
        print(
            f"{r.engine:<11}{r.users:>9,}  {r.case:<24}{r.rps:>9.0f}{r.p50_ms:>9.2f}{r.p99_ms:>9.2f}"
            f"{r.cpu_us_per_request:>12.0f}{r.errors:>8}{r.rps / bare.rps:>7.2f}{r.rps / own.rps:>7.2f}"
        )
    for engine, users, rss in PEAK_RSS:
        print(f"{engine:<11}{users:>9,}  server peak RSS {rss:.0f} MB")
    for engine, figures in SUBSCRIBE_FIGURES:
        print(
            f"{engine:<11} subscribe: {figures.polls} polls; idle server CPU "
            f"{figures.idle_cpu_percent_without}% without, {figures.idle_cpu_percent_with}% with them "
            f"waiting; event -> subscriber "
            f"p50 {figures.p50_ms} ms, p99 {figures.p99_ms} ms, max {figures.max_ms} ms "
            f"({figures.samples} events, {figures.errors} errors)"
        )
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    subscribe_json = [{"engine": engine, **asdict(figures)} for engine, figures in SUBSCRIBE_FIGURES]
    out.write_text(
        json.dumps({"cases": [asdict(r) for r in all_results], "subscribe": subscribe_json}, indent=2)
    )
    print(f"\nresults written to {out}")


if __name__ == "__main__":
    main()
