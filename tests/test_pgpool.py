"""The lean asyncpg pool: reuse, waiting at the limit, and never reusing a connection in doubt."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy.engine.url import make_url

from switchboard.db.pgpool import LeanPool


def _dsn(postgres_url: str) -> str:
    return make_url(postgres_url).set(drivername="postgresql").render_as_string(hide_password=False)


def test_reuse_limit_and_waiting(postgres_url: str) -> None:
    async def scenario() -> None:
        pool = LeanPool(_dsn(postgres_url), max_size=2)
        pids = set()

        async def query(seconds: float) -> None:
            async with pool.acquire() as conn:
                pids.add(await conn.fetchval("SELECT pg_backend_pid() FROM pg_sleep($1)", seconds))

        await asyncio.gather(*(query(0.05) for _ in range(6)))  # six at once, two connections
        assert len(pids) == 2
        await query(0)
        assert len(pids) == 2  # reused, not reopened
        await pool.close()

    asyncio.run(scenario())


def test_connections_in_doubt_are_replaced(postgres_url: str) -> None:
    async def scenario() -> None:
        pool = LeanPool(_dsn(postgres_url), max_size=1)
        async with pool.acquire() as conn:
            first = await conn.fetchval("SELECT pg_backend_pid()")
        # A statement the server refuses leaves the connection usable: kept.
        with pytest.raises(asyncpg.PostgresError):
            async with pool.acquire() as conn:
                await conn.execute("SELECT no_such_column FROM no_such_table")
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT pg_backend_pid()") == first
        # A query cancelled half-way (a client went away) leaves it in doubt: closed, replaced.
        task = asyncio.get_running_loop().create_task(_sleep_in_pool(pool))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT pg_backend_pid()") != first
        # A connection left in a transaction is not handed to the next request either.
        async with pool.acquire() as conn:
            second = await conn.fetchval("SELECT pg_backend_pid()")
            await conn.execute("BEGIN")
        async with pool.acquire() as conn:
            assert not conn.is_in_transaction()
            assert await conn.fetchval("SELECT pg_backend_pid()") != second
        await pool.close()

    asyncio.run(scenario())


async def _sleep_in_pool(pool: LeanPool) -> None:
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_sleep(5)")
