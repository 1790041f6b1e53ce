"""Idempotency-Key: a retried write answers what its first attempt did instead of acting twice.

Keys are kept per principal for a day, in the database, so every worker process sees them. The
first request with a key claims it (a row with no answer yet: the unique (principal, key) decides
between workers); a success (2xx) is stored and replayed to every retry; a failure releases the
key, so a retry acts again (a failed attempt did nothing: call control undoes what the PBX did
late). A request without a key pays nothing: no read, no write.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Annotated, Any

import orjson
from fastapi import Header, Request
from sqlalchemy import BigInteger, Index, Integer, String, Text, UniqueConstraint, bindparam, delete, select
from sqlalchemy import update as sql_update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column
from starlette.responses import Response

from switchboard.db.base import Base, TZDateTime, utcnow
from switchboard.db.engine import Database
from switchboard.db.fastread import Row
from switchboard.db.fastwrite import Step
from switchboard.errors import BadRequest, Conflict, UnprocessableContent
from switchboard.web.state import database_of

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEPT = timedelta(hours=24)
# A claim this old without an answer was left by a worker that stopped mid-request: taken over.
ABANDONED = timedelta(minutes=10)
WAIT_SECONDS = 10.0  # how long a retry waits for the first attempt to finish (then 409)
POLL_SECONDS = 0.05
# Parameters that say who asks or under which key, not what is asked: left out of the fingerprint.
_NOT_THE_REQUEST = frozenset({"apiKey", "idempotencyKey"})
_WELL_FORMED = re.compile(r"[\x20-\x7e]{1,255}")
RULE = "1 to 255 printable ASCII characters"

BigPK = BigInteger().with_variant(Integer, "sqlite")

KeyHeader = Annotated[
    str | None,
    Header(
        alias=HEADER,
        description="Makes a retry safe: the same key from the same credential within 24 hours "
        "answers the first attempt's success instead of acting again (" + RULE + ").",
        json_schema_extra={"minLength": 1, "maxLength": 255, "pattern": "^[\\x20-\\x7e]+$"},
    ),
]


class IdempotencyRecord(Base):
    """A key a principal sent, with the answer its request got (none while it runs)."""

    __tablename__ = "idempotency_keys"

    pk: Mapped[int] = mapped_column(BigPK, primary_key=True)
    principal: Mapped[str] = mapped_column(String(80))  # Principal.identity
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))  # SHA-256 of method, path, parameters, body
    claim: Mapped[str] = mapped_column(String(32))  # the attempt that holds the key
    status: Mapped[int | None] = mapped_column(Integer)  # None: in progress
    body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("principal", "key"),
        Index("ix_idempotency_keys_created_at", "created_at"),
    )


async def once(
    request: Request,
    principal: str,
    key: str | None,
    act: Callable[[], Awaitable[Response]],
    field: str = HEADER,
) -> Response:
    """`act`'s answer; with a key (sent as `field`), at most one success per (principal, key) in a
    day: a retry gets the stored success. `principal` is Principal.identity."""
    if key is None:
        return await act()
    if not _WELL_FORMED.fullmatch(key):
        raise BadRequest.field(field, RULE)
    db = database_of(request)
    claim = secrets.token_hex(16)
    stored = await _take(db, principal, key, await _fingerprint(request), claim, field)
    if stored is not None:
        return stored
    try:
        response = await act()
    except Exception:
        await _settle(db, _release_step(principal, key, claim))
        raise
    if 200 <= response.status_code < 300:
        body = bytes(response.body).decode()
        await _settle(db, _store_step(principal, key, claim, response.status_code, body))
    else:
        await _settle(db, _release_step(principal, key, claim))
    return response


async def _take(
    db: Database, principal: str, key: str, fingerprint: str, claim: str, field: str
) -> Response | None:
    """None once `claim` holds the key (this attempt acts); else the first attempt's stored
    answer, waited for while it runs."""
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while True:
        row: Row | None = await _claim(db, principal, key, fingerprint, claim)
        while row is not None and row["claim"] != claim:
            if row["fingerprint"] != fingerprint:
                raise UnprocessableContent(
                    f"This {field} was used for a different request (another operation, "
                    "parameters or body); send a new key for a new request."
                )
            if row["status"] is not None:
                return Response(
                    row["body"] or "",
                    row["status"],
                    media_type="application/json",
                    headers={REPLAYED_HEADER: "true"},
                )
            if asyncio.get_running_loop().time() >= deadline:
                raise Conflict(f"A request with this {field} is still in progress.")
            await asyncio.sleep(POLL_SECONDS)
            row = await _read(db, principal, key)
        if row is not None:
            return None
        # The first attempt failed and let the key go: this one claims it in its place.


async def _fingerprint(request: Request) -> str:
    params = list(request.query_params.multi_items())
    body = b""
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        params += [(k, v) for k, v in (await request.form()).multi_items() if isinstance(v, str)]
    else:
        body = await request.body()
    return fingerprint(request.method, request.url.path, params, body)


def fingerprint(method: str, path: str, params: list[tuple[str, str]], body: bytes) -> str:
    """What a request asks, as SHA-256: its method, path, parameters (query and form, by name)
    and a JSON body in canonical form, so that neither the order of parameters nor of a JSON
    object's keys makes another request."""
    asked = sorted((k, v) for k, v in params if k not in _NOT_THE_REQUEST)
    with contextlib.suppress(orjson.JSONDecodeError):  # not JSON: compared as sent
        body = orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS) if body else b""
    digest = hashlib.sha256(orjson.dumps([method, path, asked]))
    digest.update(b"\n")
    digest.update(body)
    return digest.hexdigest()


# -- the table, on the raw driver in the event loop (no thread hop) ---------------------------------

_COLUMNS = (
    IdempotencyRecord.claim,
    IdempotencyRecord.fingerprint,
    IdempotencyRecord.status,
    IdempotencyRecord.body,
)


def _this_key() -> Any:
    return (IdempotencyRecord.principal == bindparam("principal")) & (
        IdempotencyRecord.key == bindparam("key")
    )


def _lookup() -> Any:
    return select(*_COLUMNS).where(_this_key())


def _clear_stale() -> Any:
    # A day-old key is free again, and so is a claim its worker never finished.
    record = IdempotencyRecord
    expired = record.created_at < bindparam("expired", type_=record.created_at.type)
    abandoned = record.status.is_(None) & (
        record.created_at < bindparam("abandoned", type_=record.created_at.type)
    )
    return delete(record).where(_this_key(), expired | abandoned)


def _insert(postgres: bool) -> Any:
    insert = pg_insert if postgres else sqlite_insert
    record = IdempotencyRecord
    values = {
        record.principal: bindparam("principal"),
        record.key: bindparam("key"),
        record.fingerprint: bindparam("fingerprint"),
        record.claim: bindparam("claim"),
        record.created_at: bindparam("now", type_=record.created_at.type),
    }
    return insert(record).values(values).on_conflict_do_nothing(index_elements=["principal", "key"])


async def _claim(db: Database, principal: str, key: str, fingerprint: str, claim: str) -> Row | None:
    """Insert the claim unless the key is held; the row that holds it now (ours or the first's)."""
    postgres = not db.is_sqlite
    now = utcnow()
    params = {"principal": principal, "key": key}
    async with db.writer.transaction() as tx:
        await tx.execute(
            "idempotency.clear_stale",
            _clear_stale,
            {**params, "expired": now - KEPT, "abandoned": now - ABANDONED},
        )
        await tx.execute(
            ("idempotency.insert", postgres),
            lambda: _insert(postgres),
            {**params, "fingerprint": fingerprint, "claim": claim, "now": now},
        )
        rows = await tx.execute("idempotency.lookup", _lookup, params)
    return rows[0] if rows else None


async def _read(db: Database, principal: str, key: str) -> Row | None:
    reader = db.reader
    return await reader.fetch_one(
        reader.compiled("idempotency.lookup", _lookup), {"principal": principal, "key": key}
    )


def _release_step(principal: str, key: str, claim: str) -> Step:
    def build() -> Any:
        return delete(IdempotencyRecord).where(_this_key(), IdempotencyRecord.claim == bindparam("claim"))

    return ("idempotency.release", build, {"principal": principal, "key": key, "claim": claim})


def _store_step(principal: str, key: str, claim: str, status: int, body: str) -> Step:
    def build() -> Any:
        return (
            sql_update(IdempotencyRecord)
            .where(_this_key(), IdempotencyRecord.claim == bindparam("claim"))
            .values(status=bindparam("status"), body=bindparam("body"))
        )

    params = {"principal": principal, "key": key, "claim": claim, "status": status, "body": body}
    return ("idempotency.store", build, params)


async def _settle(db: Database, step: Step) -> None:
    """Store the answer or release the key. The request's own answer stands if this fails (the
    database went away): the claim then holds the key until it counts as abandoned."""
    try:
        await db.writer.run([step])
    except Exception as exc:
        log.warning("%s not settled: %s", HEADER, type(exc).__name__)


def trim(session: Session) -> None:
    """Upkeep: keys older than a day are ignored already; their rows go."""
    session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < utcnow() - KEPT))
