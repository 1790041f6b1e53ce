"""Login: throttled before hashing, capped in concurrency, equal in time for every failure."""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from switchboard.access.api_keys import issue_token
from switchboard.access.models import Account
from switchboard.access.passwords import verify_password
from switchboard.access.ratelimit import RateLimiter
from switchboard.db.engine import Database
from switchboard.errors import TooManyRequests, Unauthorized


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

    async def login(self, client: str, username: str, password: str) -> tuple[str, str]:
        """(token, expiresAt ISO) or 401 (same answer for a wrong name and a wrong password)."""
        bucket = f"auth-fail:{client}"
        # Before any hashing: a flood from one address costs one dict lookup per request.
        self._limiter.check(bucket, self._failures_per_minute, "failed authentications from this address")
        account_pk = await self.verify(username, password)
        if account_pk is None:
            self._limiter.hit(bucket, self._failures_per_minute, "failed authentications from this address")
            raise Unauthorized("Wrong username or password.")
        return await run_in_threadpool(self._issue, account_pk)

    async def verify(self, username: str, password: str) -> int | None:
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

    def _issue(self, account_pk: int) -> tuple[str, str]:
        with self._db.transaction() as session:
            token, expires = issue_token(session, session.get_one(Account, account_pk), self._token_minutes)
            return token, expires.isoformat()
