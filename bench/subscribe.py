"""Noojee subscribe under the bench server: what 200 idle long-polls cost, and how soon an event
reaches its subscriber.

1. Idle cost: server CPU over 5 s with no poll open, then over 5 s with 200 polls waiting
   (one per extension, timeOut 60, the system's cap on a wait raised to 60 s for the run): the
   difference is what waiting costs.
2. Latency: an inbound call is injected on each extension in turn (the simulator endpoint); the
   time from just before that request to the arrival of the poll's answer bounds the event's
   commit-to-subscriber latency from above (it includes the injecting request itself).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass

import httpx2

from bench.process import cpu_seconds

CALL_API = "/servicemanager/rest/CallManagementAPI"
POLL_SECONDS = 60


@dataclass(frozen=True)
class SubscribeFigures:
    polls: int
    idle_cpu_percent_without: float
    idle_cpu_percent_with: float
    samples: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: int


async def _idle_cpu(pid: int, seconds: float) -> float:
    before, started = cpu_seconds(pid), time.monotonic()
    await asyncio.sleep(seconds)
    return (cpu_seconds(pid) - before) / (time.monotonic() - started) * 100


async def _run(base: str, pid: int, key: str, tenant: str, extensions: list[str]) -> SubscribeFigures:
    limits = httpx2.Limits(
        max_connections=len(extensions) + 10, max_keepalive_connections=len(extensions) + 10
    )
    auth = {"X-API-Key": key}
    async with httpx2.AsyncClient(base_url=base, verify=False, limits=limits, timeout=90) as client:
        # The system caps a poll's wait (4 s by default): the polls must outlast the idle round.
        capped = await client.patch(
            "/api/v1/settings/", json={"noojeeSubscribeMaxWaitSeconds": POLL_SECONDS}, headers=auth
        )
        capped.raise_for_status()
        first = await client.post(
            f"{CALL_API}/subscribe",
            params={"exten": extensions[0], "tenantId": tenant, "timeOut": 0},
            headers=auth,
        )
        seq = first.json()["seq"]
        without = await _idle_cpu(pid, 5)
        answered: dict[str, float] = {}

        async def poll(extension: str) -> dict[str, object]:
            answer = await client.post(
                f"{CALL_API}/subscribe",
                params={
                    "exten": extension,
                    "tenantId": tenant,
                    "lastSequenceNumber": seq,
                    "timeOut": POLL_SECONDS,
                },
                headers=auth,
            )
            answered[extension] = time.perf_counter()
            body: dict[str, object] = answer.json()
            return body

        polls = [asyncio.create_task(poll(extension)) for extension in extensions]
        await asyncio.sleep(2)  # every poll connected and waiting
        waiting = await _idle_cpu(pid, 5)
        early = len(answered)
        latencies = []
        errors = early
        for extension in extensions:
            sent = time.perf_counter()
            await client.post(
                "/api/v1/simulator/calls/",
                json={"to": extension, "from": "0390000000", "tenantId": tenant},
                headers=auth,
            )
            for _ in range(2000):
                if extension in answered:
                    break
                await asyncio.sleep(0.0005)
            if extension in answered:
                latencies.append((answered[extension] - sent) * 1e3)
            else:
                errors += 1
        bodies = await asyncio.gather(*polls, return_exceptions=True)
        errors += sum(1 for body in bodies if isinstance(body, BaseException) or body.get("Code") != 0)
    latencies.sort()
    return SubscribeFigures(
        len(extensions),
        round(without, 2),
        round(waiting, 2),
        len(latencies),
        round(statistics.median(latencies), 2) if latencies else 0.0,
        round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 2) if latencies else 0.0,
        round(latencies[-1], 2) if latencies else 0.0,
        errors,
    )


def measure(
    base: str, pid: int, key: str, tenant: str = "bench0", first: int = 1200, count: int = 200
) -> SubscribeFigures:
    extensions = [str(first + n) for n in range(count)]
    return asyncio.run(_run(base, pid, key, tenant, extensions))
