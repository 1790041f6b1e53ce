"""Failed console sign-ins slow the next ones down, per address and per account name, with
growing delays and no lock-out: an attacker can make guessing slow, never shut `admin` out."""

from __future__ import annotations

import contextlib

from switchboard.access.ratelimit import RateLimiter
from switchboard.errors import TooManyRequests

FREE_FAILURES = 3  # over the last one to two minutes, before any delay
FIRST_DELAY = 0.25  # seconds, doubling with each further failure
MAX_DELAY = 8.0


class SignInThrottle:
    def __init__(self, limiter: RateLimiter) -> None:
        self._limiter = limiter

    @staticmethod
    def _buckets(client: str, username: str) -> tuple[str, str]:
        # The name as typed, whether or not such an account exists: both answer alike.
        return f"console-fail:{client}", f"console-fail-name:{username.strip().lower()[:64]}"

    def delay(self, client: str, username: str) -> float:
        failures = max(self._limiter.recent(bucket) for bucket in self._buckets(client, username))
        if failures < FREE_FAILURES:
            return 0.0
        return min(MAX_DELAY, FIRST_DELAY * 2.0 ** (failures - FREE_FAILURES))

    def failed(self, client: str, username: str) -> None:
        for bucket in self._buckets(client, username):
            # A small limit: every failure is shared with the other workers at once. Past it the
            # limiter would answer 429; here it only means longer delays.
            with contextlib.suppress(TooManyRequests):
                self._limiter.hit(bucket, FREE_FAILURES, "failed console sign-ins")
