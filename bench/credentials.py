"""Credential check cost on a warm cache with many keys (python -m bench.credentials).

Fills a database with N user API keys (digests of random keys), resolves one real user key,
one login token and the global key many times through the same CredentialResolver the server
uses, and reports CPU microseconds per check (process time, one thread).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert
from starlette.requests import Request

from switchboard.access import keys
from switchboard.access.api_keys import issue_token
from switchboard.access.credentials import CredentialResolver
from switchboard.access.models import Account, ApiKey
from switchboard.access.ratelimit import RateLimiter
from switchboard.db.base import utcnow
from switchboard.db.engine import Database
from switchboard.db.migrate import upgrade
from switchboard.signals.feed import ChangeFeed
from switchboard.system.bootstrap import initialise
from switchboard.system.store import SettingsCache


def _request(key: str) -> Request:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/api/v1/tenants/",
        "raw_path": b"/api/v1/tenants/",
        "query_string": b"",
        "headers": [(b"authorization", f"Bearer {key}".encode())],
        "client": ("127.0.0.1", 40000),
        "scheme": "https",
        "server": ("127.0.0.1", 8443),
    }
    return Request(scope)


def fill(db: Database, n_keys: int) -> tuple[str, str, str]:
    """(global key, user key, login token); n_keys user keys in all."""
    with db.transaction() as session:
        created = initialise(session)
        assert created is not None
        # "-" is no argon2 hash: this account can never sign in.
        account = Account(username="bench", username_key="bench", role="system", password_hash="-")  # noqa: S106
        session.add(account)
        session.flush()
        now = utcnow()
        batch = []
        for n in range(n_keys - 1):
            digest = hashlib.sha256(os.urandom(16)).hexdigest()
            batch.append(
                {
                    "account_pk": account.pk,
                    "name": f"k{n}",
                    "prefix": f"sbu_{n:06d}",
                    "digest": digest,
                    "ip_allowlist": [],
                    "created_at": now,
                }
            )
            if len(batch) == 20_000:
                session.execute(insert(ApiKey), batch)
                batch = []
        if batch:
            session.execute(insert(ApiKey), batch)
        user_key = keys.generate_key(keys.KeyKind.USER)
        session.add(
            ApiKey(
                account_pk=account.pk,
                name="real",
                prefix=keys.display_prefix(user_key),
                digest=keys.digest(user_key),
                ip_allowlist=[],
            )
        )
        token, _ = issue_token(session, account, 60)
    return created.global_api_key, user_key, token


async def measure(db: Database, credentials: dict[str, str], rounds: int) -> dict[str, float]:
    await db.open()
    feed = ChangeFeed(db.reader, 1.0)
    cache = SettingsCache(db.reader, 30.0)
    resolver = CredentialResolver(db.reader, cache, feed, RateLimiter(db), 10, 10**9)
    results = {}
    try:
        for name, key in credentials.items():
            request = _request(key)
            await resolver.resolve(request)  # warm: the one query happens here
            started = time.process_time()
            for _ in range(rounds):
                await resolver.resolve(request)
            results[name] = (time.process_time() - started) / rounds * 1e6
    finally:
        await db.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=200_000)
    parser.add_argument("--url", default=None, help="database URL (default: a new SQLite file)")
    args = parser.parse_args()
    url = args.url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'credentials.db'}"
    upgrade(url)
    db = Database(url)
    started = time.perf_counter()
    global_key, user_key, token = fill(db, args.keys)
    print(
        f"{args.keys:,} user keys written in {time.perf_counter() - started:.1f}s ({db.engine.dialect.name})"
    )
    results = asyncio.run(
        measure(db, {"global key": global_key, "user key": user_key, "login token": token}, args.rounds)
    )
    for name, micros in results.items():
        print(f"{name:<12} {micros:6.2f} µs CPU per credential check (warm cache, {args.keys:,} keys)")


if __name__ == "__main__":
    main()
