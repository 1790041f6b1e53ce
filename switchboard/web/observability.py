"""Access log (secrets redacted) and Prometheus metrics labelled by route template, never raw path."""

from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import Scope

from switchboard.logs import redact

access_log = logging.getLogger("switchboard.access")
error_log = logging.getLogger("switchboard.error")

UNMATCHED = "<unmatched>"
# Seconds. Close enough between 1 ms and 1 s that a p99 there is read within a quarter of its value
# (bench/load.py reports each request kind's p50 and p99 from these).
LATENCY_BUCKETS = (
    0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.075,
    0.1, 0.125, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2.5, 5, 10,
)  # fmt: skip


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "switchboard_http_requests_total",
            "HTTP requests by method, route template and status",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "switchboard_http_request_duration_seconds",
            "HTTP request latency by method and route template",
            ("method", "route"),
            registry=self.registry,
            buckets=LATENCY_BUCKETS,
        )
        # labels() takes a lock and builds its key on every call: each label set's pair is looked up once.
        self._series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def record(self, method: str, route: str, status: int, seconds: float) -> None:
        """One request counted and its latency observed, under its method and route template."""
        series = self._series.get((method, route, status))
        if series is None:
            series = self._series[method, route, status] = (
                self.requests.labels(method, route, str(status)),
                self.latency.labels(method, route),
            )
        series[0].inc()
        series[1].observe(seconds)


def route_template(scope: Scope) -> str:
    """The template of the route the router chose (it leaves the route in the scope), never the path."""
    return getattr(scope.get("route"), "path", UNMATCHED)


def log_access(scope: Scope, status: int, seconds: float) -> None:
    if access_log.isEnabledFor(logging.INFO):
        query = scope.get("query_string", b"").decode("latin-1")
        target = scope["path"] + (f"?{redact(query)}" if query else "")
        client = scope.get("client")
        access_log.info(
            '%s "%s %s" %d %.1fms',
            client[0] if client else "-",
            scope["method"],
            target,
            status,
            seconds * 1000,
        )
