"""The rate limiter's shared counts: two limiters on one database act as two workers would."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from switchboard.access.ratelimit import RateLimiter
from switchboard.db.engine import Database
from switchboard.errors import TooManyRequests


def _two_workers(database_url: str, scenario: Callable[[RateLimiter, RateLimiter], Awaitable[None]]) -> None:
    """Run `scenario` with two limiters on one database, as two worker processes would have."""

    async def run() -> None:
        first, second = Database(database_url), Database(database_url)
        await first.open()
        await second.open()
        try:
            await scenario(RateLimiter(first), RateLimiter(second))
        finally:
            await first.close()
            await second.close()

    asyncio.run(run())


def test_counts_are_shared_between_workers(database_url: str) -> None:
    async def scenario(a: RateLimiter, b: RateLimiter) -> None:
        for _ in range(3):
            a.hit("auth-fail:192.0.2.1", 5, "failures")
        for _ in range(2):
            b.hit("auth-fail:192.0.2.1", 5, "failures")
        # Neither has seen the other's counts yet; after one sync round both have.
        for limiter in (a, b):
            await asyncio.to_thread(limiter.flush)
        for limiter in (a, b):
            await limiter.refresh()
        assert a.count("auth-fail:192.0.2.1") == b.count("auth-fail:192.0.2.1") == 5
        with pytest.raises(TooManyRequests) as refused:
            b.check("auth-fail:192.0.2.1", 5, "failures")
        assert refused.value.headers()["Retry-After"].isdigit()
        a.check("auth-fail:192.0.2.2", 5, "failures")  # another bucket is untouched

    _two_workers(database_url, scenario)


def test_buckets_far_from_their_limit_are_not_written_yet(database_url: str) -> None:
    async def scenario(a: RateLimiter, b: RateLimiter) -> None:
        for _ in range(49):  # below 5% of 1,000: kept local
            a.hit("rate:key", 1000, "requests")
        await asyncio.to_thread(a.flush)
        await b.refresh()
        assert b.count("rate:key") == 0
        a.hit("rate:key", 1000, "requests")  # the 50th: now it is shared
        await asyncio.to_thread(a.flush)
        await b.refresh()
        assert b.count("rate:key") == 50

    _two_workers(database_url, scenario)


def test_recent_counts_survive_the_turn_of_the_minute(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Slowing down failures must not restart from zero when the window turns, in the worker that
    counted them nor in one that only reads the shared rows."""
    import switchboard.access.ratelimit as ratelimit

    clock = [1_800_000_000.0 + 50]  # ten seconds before a window ends
    monkeypatch.setattr(ratelimit.time, "time", lambda: clock[0])

    async def scenario(a: RateLimiter, b: RateLimiter) -> None:
        for _ in range(3):
            a.hit("console-fail:192.0.2.1", 3, "failures")
        await asyncio.to_thread(a.flush)
        clock[0] += 15  # the next minute
        assert a.count("console-fail:192.0.2.1") == 0
        assert a.recent("console-fail:192.0.2.1") == 3
        b._roll()  # b started in the earlier window; it learns both from the shared rows
        await b.refresh()
        assert b.recent("console-fail:192.0.2.1") == 3
        clock[0] += 60  # two windows on: forgotten
        await b.refresh()
        assert a.recent("console-fail:192.0.2.1") == b.recent("console-fail:192.0.2.1") == 0

    _two_workers(database_url, scenario)


def test_a_released_reservation_is_given_back_on_every_worker(database_url: str) -> None:
    """A sign-in attempt is counted before its password is checked and given back when it was
    right, after the count may already have been shared: the other worker sees it go too."""

    async def scenario(a: RateLimiter, b: RateLimiter) -> None:
        buckets = {"login-fail:ann": 2, "auth-fail:192.0.2.1": 2}
        window = a.reserve(buckets, "failed sign-ins")
        a.reserve(buckets, "failed sign-ins")
        with pytest.raises(TooManyRequests):  # at the limit: refused, nothing counted
            a.reserve(buckets, "failed sign-ins")
        await asyncio.to_thread(a.flush)
        await b.refresh()
        assert b.count("login-fail:ann") == 2
        a.release(buckets, window)  # the first was right
        await asyncio.to_thread(a.flush)
        await b.refresh()
        assert a.count("login-fail:ann") == b.count("login-fail:ann") == 1
        b.reserve(buckets, "failed sign-ins")  # room for one more again, on either worker

    _two_workers(database_url, scenario)


def test_reservations_get_no_fresh_round_when_the_minute_turns(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Guesses spent just before the minute turns still count just after it."""
    import switchboard.access.ratelimit as ratelimit

    clock = [1_800_000_000.0 + 55]
    monkeypatch.setattr(ratelimit.time, "time", lambda: clock[0])

    async def scenario(a: RateLimiter, b: RateLimiter) -> None:
        buckets = {"login-fail:ann": 3}
        for _ in range(3):
            a.reserve(buckets, "failed sign-ins")
        clock[0] += 10  # the next minute
        with pytest.raises(TooManyRequests) as refused:
            a.reserve(buckets, "failed sign-ins")
        # Free when the minute that holds the failures has passed out of the last two.
        assert int(refused.value.headers()["Retry-After"]) == 56
        clock[0] += 60
        a.reserve(buckets, "failed sign-ins")

    _two_workers(database_url, scenario)


def test_guesses_not_yet_shared_when_the_minute_turns_still_count_after_a_sync(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reservations made just before the minute turns and not yet flushed: the next sync round
    (flush, then refresh from the shared rows) must neither forget them here nor hide them from
    the other worker. They were lost, and a burst of guesses got a fresh round (a CI run saw 18
    password checks against a budget of 10)."""
    import switchboard.access.ratelimit as ratelimit

    clock = [1_800_000_000.0 + 59]
    monkeypatch.setattr(ratelimit.time, "time", lambda: clock[0])

    async def scenario(a: RateLimiter, b: RateLimiter) -> None:
        buckets = {"login-fail:ann": 3}
        for _ in range(3):
            a.reserve(buckets, "failed sign-ins")
        clock[0] += 2  # the next minute, before any sync
        for limiter in (a, b):
            await asyncio.to_thread(limiter.flush)
        for limiter in (a, b):
            limiter._roll()
            await limiter.refresh()
        for limiter in (a, b):
            assert limiter.recent("login-fail:ann") == 3
            with pytest.raises(TooManyRequests):
                limiter.reserve(buckets, "failed sign-ins")

    _two_workers(database_url, scenario)
