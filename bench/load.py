"""python -m bench.load: a mixed workload at the highest rate one server worker sustains.

Search objects (end users' login tokens), the Noojee campaign list (an agent's user key), lead
inserts (one new lead per request), call control (recording stop/start on 200 live calls, by
extension) and subscribe snapshots (the global key), interleaved in one closed loop by wrk with
16 connections. Any non-2xx answer or socket error counts as an error; the run fails on any.
Besides wrk's overall figures, each kind's p50 and p99 as the server measured them (its latency
histogram, scraped before and after the measured round).
`make soak` runs it for 60 s on both databases; the test suite runs a 10 s version.
"""

from __future__ import annotations

import argparse
import json
import math
import ssl
import tempfile
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from bench.__main__ import (
    CALL_API,
    RECORDED_CALLS,
    _post,
    fresh_credentials,
    parse_with_engines,
    prepare_database,
    restart_recordings,
    run_wrk,
    serving,
)

# An answer slower than this is an error (wrk's default, 2 s, counts a loaded CI machine's pauses).
TIMEOUT_SECONDS = 10
# Requests per kind in every 20: reads dominate, as they do for a contact centre's CRM.
MIX = {"search": 6, "campaign_list": 5, "lead_insert": 3, "call_control": 3, "subscribe": 3}
# The route templates each kind reaches (the server's metrics are labelled by template).
KIND_ROUTES = {
    "search": ("/api/v1/search/objects/",),
    "campaign_list": ("/servicemanager/rest/CampaignAPI/getCampaignList",),
    "lead_insert": ("/servicemanager/rest/CampaignAPI/insertLeadFast",),
    "call_control": (f"{CALL_API}/stop", f"{CALL_API}/start"),
    "subscribe": (f"{CALL_API}/subscribe",),
}
LATENCY_METRIC = "switchboard_http_request_duration_seconds"
# Cumulative request counts at each bucket's upper bound (seconds, the last infinite), per route.
Buckets = dict[float, float]


@dataclass(frozen=True)
class KindLatency:
    """One kind's figures in the measured round, from the server's own latency histogram: the time
    from the app receiving the request to its answer, so without waits in the kernel's queues, TLS
    or the event loop before the app sees it (wrk's overall figures include those)."""

    requests: int
    p50_ms: float
    p99_ms: float


@dataclass(frozen=True)
class LoadReport:
    engine: str
    users: int
    seconds: int
    connections: int
    requests: int
    errors: int
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    mix: dict[str, int]
    # Server-side, per kind and over all of them (for comparison with wrk's client-side figures).
    by_kind: dict[str, KindLatency]
    server_all: KindLatency


def scrape_latency(base: str) -> dict[str, Buckets]:
    """The server's request-duration histogram now, per route template (POST requests)."""
    context = ssl._create_unverified_context()  # noqa: S323 - our own server, on loopback
    with urllib.request.urlopen(f"{base}/metrics", context=context, timeout=30) as response:  # noqa: S310
        text = response.read().decode()
    return parse_latency(text)


def parse_latency(text: str) -> dict[str, Buckets]:
    routes: dict[str, Buckets] = {}
    for family in text_string_to_metric_families(text):
        if family.name != LATENCY_METRIC:
            continue
        for sample in family.samples:
            if sample.name == f"{LATENCY_METRIC}_bucket" and sample.labels.get("method") == "POST":
                bound = float(sample.labels["le"])
                routes.setdefault(sample.labels["route"], {})[bound] = sample.value
    return routes


def bucket_delta(
    before: Mapping[str, Buckets], after: Mapping[str, Buckets], routes: tuple[str, ...]
) -> Buckets:
    """The routes' requests between two scrapes, merged into one histogram."""
    merged: Buckets = {}
    for route in routes:
        for bound, count in after.get(route, {}).items():
            merged[bound] = merged.get(bound, 0.0) + count - before.get(route, {}).get(bound, 0.0)
    return merged


def quantile(q: float, buckets: Buckets) -> float:
    """The q-quantile in seconds, interpolated linearly inside its bucket (as Prometheus's
    histogram_quantile does); a quantile in the last, infinite bucket is reported as its lower bound."""
    bounds = sorted(buckets)
    total = buckets[bounds[-1]] if bounds else 0.0
    if total <= 0:
        return math.nan
    rank = q * total
    lower, below = 0.0, 0.0
    for bound in bounds:
        cumulative = buckets[bound]
        if cumulative >= rank:
            if math.isinf(bound) or cumulative == below:
                return lower
            return lower + (bound - lower) * (rank - below) / (cumulative - below)
        lower, below = bound, cumulative
    return lower


def latency(buckets: Buckets) -> KindLatency:
    total = int(buckets[max(buckets)]) if buckets else 0
    return KindLatency(total, quantile(0.5, buckets) * 1000, quantile(0.99, buckets) * 1000)


def latency_by_kind(before: Mapping[str, Buckets], after: Mapping[str, Buckets]) -> dict[str, KindLatency]:
    return {kind: latency(bucket_delta(before, after, KIND_ROUTES[kind])) for kind in MIX}


def _lua(value: object) -> str:
    return json.dumps(value)


def write_script(
    base: str,
    workdir: Path,
    searches: list[tuple[str, str]],
    agent_key: str,
    global_key: str,
    admin_token: str,
    campaign: tuple[int, int],
) -> Path:
    """The wrk script: a fixed rotation of the mix; call control keeps its own order."""
    for n in range(RECORDED_CALLS):  # live calls to control, each recording
        body = json.dumps({"to": str(1000 + n), "from": "0390000000", "tenantId": "bench0"}).encode()
        _post(
            f"{base}/api/v1/simulator/calls/",
            body,
            {"X-API-Key": global_key, "Content-Type": "application/json"},
        )
    restart_recordings(base, admin_token)
    rotation = [kind for kind, weight in MIX.items() for _ in range(weight)]
    template, campaign_pk = campaign
    lines = [
        "local searches = {"
        + ", ".join(f"{{{_lua('Bearer ' + token)}, {_lua(body)}}}" for token, body in searches)
        + "}",
        f"local rotation = {{{', '.join(_lua(kind) for kind in rotation)}}}",
        f"local size = {RECORDED_CALLS}",
        "local n, control, lead = 0, 0, 0",
        "math.randomseed(7)",
        "request = function()",
        "  n = n + 1",
        "  local kind = rotation[(n % #rotation) + 1]",
        "  if kind == 'search' then",
        "    local s = searches[math.random(#searches)]",
        "    return wrk.format('POST', '/api/v1/search/objects/',"
        " {['Authorization'] = s[1], ['Content-Type'] = 'application/json'}, s[2])",
        "  elseif kind == 'campaign_list' then",
        "    return wrk.format('POST', "
        + _lua(f"/servicemanager/rest/CampaignAPI/getCampaignList?apiKey={agent_key}")
        + ", {})",
        "  elseif kind == 'lead_insert' then",
        "    lead = lead + 1",
        '    local body = string.format(\'[{"firstName": "Load", "phone": "+6138%07d",'
        ' "njExternalLeadId": "load-%d-%d"}]\', lead, os.time(), lead)',
        "    return wrk.format('POST', "
        + _lua(
            f"/servicemanager/rest/CampaignAPI/insertLeadFast?fTemplateId={template}&fCampaignId={campaign_pk}"
        )
        + ", {['X-API-Key'] = "
        + _lua(global_key)
        + ", ['Content-Type'] = 'application/json'}, body)",
        "  elseif kind == 'call_control' then",
        # A call's next control comes 200 control requests after its last: never two in flight.
        "    local i = control % size; local pass = math.floor(control / size); control = control + 1",
        "    local action = (pass % 2 == 0) and 'stop' or 'start'",
        f"    local path = {_lua(CALL_API)} .. '/' .. action .. '?extenOrUniqueId=' .. (1000 + i)",
        "    return wrk.format('POST', path, {['Authorization'] = " + _lua(f"Bearer {admin_token}") + "})",
        "  else",
        f"    return wrk.format('POST', {_lua(CALL_API)} .. '/subscribe?exten=' .. (1000 + n % size) .."
        " '&tenantId=bench0&lastSequenceNumber=0&timeOut=0', {['X-API-Key'] = " + _lua(global_key) + "})",
        "  end",
        "end",
    ]
    script = workdir / "wrk-load.lua"
    script.write_text("\n".join(lines) + "\n")
    return script


def run(engine: str, url: str, users: int, seconds: int, connections: int, workdir: Path) -> LoadReport:
    """The mixed load against a database prepared by bench's prepare_database (or fill_database)."""
    credentials = fresh_credentials(url, users)
    searches = [
        (token, json.dumps({"tenant_id": tenant, "group_id": group, "user_id": user_id, "type": "user"}))
        for token, tenant, group, user_id in credentials.end_users
    ]
    with serving(url, workdir / f"data-load-{engine}", workdir / f"server-load-{engine}.log") as (
        server,
        base,
    ):
        script = write_script(
            base,
            workdir,
            searches,
            credentials.agent_key,
            credentials.global_key,
            credentials.admin_token,
            credentials.campaign,
        )
        run_wrk(base, server.pid, script, 2, connections, TIMEOUT_SECONDS)  # warm-up
        restart_recordings(base, credentials.admin_token)
        before = scrape_latency(base)
        requests, errors, rps, p50, p99, _ = run_wrk(
            base, server.pid, script, seconds, connections, TIMEOUT_SECONDS
        )
        after = scrape_latency(base)
    every_route = tuple(route for kind in MIX for route in KIND_ROUTES[kind])
    return LoadReport(
        engine,
        users,
        seconds,
        connections,
        requests,
        errors,
        rps,
        p50,
        p99,
        MIX,
        latency_by_kind(before, after),
        latency(bucket_delta(before, after, every_route)),
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engine", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "switchboard-load")
    parser.add_argument(
        "--report",
        type=Path,
        default=Path(__file__).parent / "results" / f"load-{time.strftime('%Y%m%d-%H%M%S')}.json",
    )
    args = parse_with_engines(parser)
    engines = ["sqlite", "postgresql"] if args.engine == "both" else [args.engine]
    reports = [
        run(
            engine,
            prepare_database(engine, args.users, args.workdir, args.pg_url),
            args.users,
            args.seconds,
            args.connections,
            args.workdir,
        )
        for engine in engines
    ]
    lines = [f"mixed load, {args.seconds} s, {args.connections} connections, mix per 20 requests: {MIX}"]
    for r in reports:
        lines.append(
            f"{r.engine:<11} {r.users:>9,} users  {r.requests_per_second:8.0f} req/s  p50 {r.p50_ms:7.2f} ms"
            f"  p99 {r.p99_ms:7.2f} ms  {r.requests} requests, {r.errors} errors (wrk, client side)"
        )
        lines.append(f"  {'server side, by kind':<22} {'requests':>9} {'p50 ms':>9} {'p99 ms':>9}")
        for kind, figures in [*r.by_kind.items(), ("all", r.server_all)]:
            lines.append(f"  {kind:<22} {figures.requests:>9,} {figures.p50_ms:>9.2f} {figures.p99_ms:>9.2f}")
    print("\n".join(lines))
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps({"summary": lines, "runs": [asdict(r) for r in reports]}, indent=2))
    print(f"report written to {args.report}")
    if any(r.errors for r in reports):
        raise SystemExit("errors under load")


if __name__ == "__main__":
    main()
