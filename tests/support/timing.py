"""Timing harness: do two requests take the same time? Interleaved pairs, paired statistics.

Each round sends both requests back to back, alternating which goes first, so drift in the
machine's speed cancels out; the statistic is the median of the paired differences, which a
few slow outliers (a garbage collection, another process) cannot move."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from statistics import median, stdev

import httpx2

# A difference below this is not worth an attacker's while on a network (and is below what a
# quiet machine resolves in a few hundred pairs); on a noisy machine the bound widens with the noise.
FLOOR_SECONDS = 150e-6

Send = Callable[[], httpx2.Response]


@dataclass(frozen=True)
class Comparison:
    """The median of (a - b) over interleaved pairs, and the bound it must stay within."""

    median: float
    bound: float
    pairs: int

    @property
    def same(self) -> bool:
        return abs(self.median) < self.bound

    def __str__(self) -> str:
        bound = f"bound {self.bound * 1e6:.0f} µs, {self.pairs} pairs"
        return f"median paired difference {self.median * 1e6:+.0f} µs ({bound})"


def compare(a: Send, b: Send, pairs: int, check: Callable[[httpx2.Response], None]) -> Comparison:
    """Times `a` against `b`; `check` asserts on every response (both must be the answer under test)."""
    for _ in range(max(10, pairs // 10)):  # warm-up: caches, JIT-free but lazy imports, pools
        check(a())
        check(b())
    differences = []
    for n in range(pairs):
        first, second = (a, b) if n % 2 else (b, a)
        t0 = time.perf_counter()
        check(first())
        t1 = time.perf_counter()
        check(second())
        t2 = time.perf_counter()
        delta = (t1 - t0) - (t2 - t1)
        differences.append(delta if first is a else -delta)
    # Three standard errors of the median (1.2533 sigma / sqrt(n) for a normal sample): a busy
    # machine spreads single requests by milliseconds, and a real difference still stands out.
    noise = 3 * 1.2533 * stdev(differences) / math.sqrt(len(differences))
    return Comparison(median(differences), max(FLOOR_SECONDS, noise), pairs)
