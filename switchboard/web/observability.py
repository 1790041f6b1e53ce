"""Access log (secrets redacted) and Prometheus metrics labelled by route template, never raw path."""

from __future__ import annotations

import logging
import time

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


class AccessLogAndMetrics:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        except Exception:
            error_log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            raise
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", UNMATCHED)
            self.metrics.requests.labels(scope["method"], template, str(status)).inc()
            self.metrics.latency.labels(scope["method"], template).observe(elapsed)
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
                    elapsed * 1000,
                )
