"""Signing in with a password (API login, APIO login, console): one failure budget per address and per
account, reserved before hashing; capped in concurrency; equal in time for every failure."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from switchboard.access.accounts import account_view
from switchboard.access.api_keys import issue_token
from switchboard.access.models import Account
from switchboard.access.passwords import verify_password
from switchboard.access.ratelimit import RateLimiter
from switchboard.db.engine import Database
from switchboard.errors import TooManyRequests, Unauthorized

WRONG = "Wrong username or password."
# Tries left, per account and minute, to an address whose own failure budget is spent: a colleague
# behind the same NAT as a guesser still signs in (a typo or two allowed), while the guesser gets
# no more than this many guesses at any one account (and never past the account's own budget).
LIMITED_ADDRESS_TRIES = 2


@dataclass(frozen=True, slots=True)
class Issued:
    """A login token, and the account it acts for as GET /accounts/{username}/ shows it."""

    token: str
    expires_at: datetime
    account: dict[str, Any]


class LoginService:
    def __init__(
        self,
        db: Database,
        limiter: RateLimiter,
        failures_per_minute: int,
        concurrency: int,
        token_minutes: int,
    ) -> None:
        self._db = db
        self._limiter = limiter
        self._failures_per_minute = failures_per_minute
        self._slots = asyncio.Semaphore(concurrency)
        self._token_minutes = token_minutes

    async def login(self, client: str, username: str, password: str) -> Issued:
        """A new login token, or 401 (same answer for a wrong name and a wrong password)."""
        account_pk = await self.sign_in(client, username, password)
        return await run_in_threadpool(self._issue, account_pk)

    def _budget(self, client: str, username: str) -> dict[str, int]:
        """The buckets an attempt is counted in, with their limits. The name as typed, whether or
        not such an account exists (both answer alike); the address's bucket is the one failed
        key checks count in too."""
        name = username.strip().lower()[:64]
        limit = self._failures_per_minute
        address, pair = f"auth-fail:{client}", f"login-fail:{client}:{name}"
        if self._limiter.recent(address) < limit:
            return {f"login-fail:{name}": limit, address: limit, pair: limit}
        return {f"login-fail:{name}": limit, pair: LIMITED_ADDRESS_TRIES}

    async def sign_in(self, client: str, username: str, password: str) -> int:
        """The account's pk; 401 for a wrong name or password; 429 when the account's or the
        address's failure budget is spent. The attempt is counted before the hash is checked
        (concurrent attempts cannot all pass one check) and given back if the password is right."""
        buckets = self._budget(client, username)
        window = self._limiter.reserve(buckets, "failed sign-ins for this account or from this address")
        try:
            account_pk = await self._verify(username, password)
        except BaseException:
            self._limiter.release(buckets, window)  # no password was judged: not a failure
            raise
        if account_pk is None:
            raise Unauthorized(WRONG)
        self._limiter.release(buckets, window)
        return account_pk

    async def _verify(self, username: str, password: str) -> int | None:
        """The enabled account's pk if the password is right, else None. Exactly one hash
        verification whatever the name (a wrong name and a wrong password take the same time);
        at most `concurrency` at once (the console's sign-in shares the slots)."""
        try:
            await asyncio.wait_for(self._slots.acquire(), timeout=2.0)
        except TimeoutError as exc:
            raise TooManyRequests("Too many sign-ins in progress; try again shortly.", 1) from exc
        try:
            return await run_in_threadpool(self._check, username, password)
        finally:
            self._slots.release()

    def _check(self, username: str, password: str) -> int | None:
        with self._db.transaction() as session:
            account = session.scalar(select(Account).where(Account.username_key == username.lower()))
            # Always one verification: against the account's hash, or a decoy when there is none.
            ok = verify_password(account.password_hash if account else None, password)
            if not ok or account is None or not account.enabled:
                return None
            return account.pk

    def _issue(self, account_pk: int) -> Issued:
        with self._db.transaction() as session:
            account = session.get_one(Account, account_pk)
            token, expires = issue_token(session, account, self._token_minutes)
            return Issued(token, expires, account_view(session, account))
