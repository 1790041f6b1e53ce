"""bench.load's latency by request kind: the server's histogram read between two scrapes."""

from __future__ import annotations

import math

from prometheus_client import generate_latest

from bench.load import KIND_ROUTES, bucket_delta, latency, parse_latency, quantile
from switchboard.web.observability import Metrics

STOP, START = KIND_ROUTES["call_control"]


def _scrape(metrics: Metrics) -> str:
    return generate_latest(metrics.registry).decode()


def test_each_kind_is_counted_from_the_requests_between_two_scrapes() -> None:
    metrics = Metrics()
    for seconds in (0.001, 0.001, 0.4):  # before the measured round: not counted
        metrics.latency.labels("POST", STOP).observe(seconds)
    before = parse_latency(_scrape(metrics))
    for n in range(100):  # 99 fast answers and one slow one, on the two routes of the kind
        metrics.latency.labels("POST", START if n % 2 else STOP).observe(0.35 if n == 99 else 0.0042)
    metrics.latency.labels("GET", STOP).observe(9)  # another method: not this kind
    after = parse_latency(_scrape(metrics))
    merged = bucket_delta(before, after, (STOP, START))
    figures = latency(merged)
    assert figures.requests == 100
    assert 3 < figures.p50_ms <= 5  # in the 3-5 ms bucket
    assert 3 < figures.p99_ms <= 5  # the 99th of 100 is still a fast one
    assert 300 < quantile(0.999, merged) * 1000 <= 400  # the slow one's bucket


def test_no_requests_is_no_figure() -> None:
    assert math.isnan(quantile(0.5, {}))
    assert latency({}).requests == 0
