"""Webhook delivery, at least once: fan events out to deliveries, claim, send, record, retry.

- Fan-out: one cursor over the event log (a counter row, locked while it moves). Each event
  numbered past it becomes a delivery per matching subscription, in the same transaction that
  moves the cursor: an event is fanned out once, whoever does it, whatever dies.
- Claim: due deliveries are taken with FOR UPDATE SKIP LOCKED (PostgreSQL; SQLite has one
  writer) and leased by moving their next attempt past the lease, so two workers never send the
  same attempt, and a worker killed mid-send leaves the delivery due again when its lease ends.
- Send outside any transaction, through the SSRF-safe sender; record the outcome: delivered;
  failed for good (last attempt, or 410 Gone, which also disables the subscription); or due
  again after an exponential, jittered backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import bindparam, delete, exists, func, select, update
from sqlalchemy import insert as insert_into
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from switchboard.access.principal import Principal
from switchboard.db.base import utcnow
from switchboard.db.engine import Database
from switchboard.errors import BadRequest
from switchboard.events import outbound
from switchboard.events.models import Event, Webhook, WebhookAttempt, WebhookDelivery
from switchboard.events.signing import SIGNATURE_HEADER, SecretBox, signature
from switchboard.events.webhooks import event_body, find_webhook, matches, tenant_ids
from switchboard.settings import Settings
from switchboard.signals.models import ChangeCounter

log = logging.getLogger(__name__)

CURSOR = "webhooks.cursor"  # the change counter holding the last event fanned out
FAN_OUT_BATCH = 1000
FAN_OUT_COALESCE_SECONDS = 0.02


@dataclass(frozen=True, slots=True)
class Claim:
    delivery_pk: int
    attempt: int
    webhook_pk: int
    url: str
    sealed_secret: str
    event_id: str
    kind: str
    body: bytes


@dataclass(frozen=True, slots=True)
class Policy:
    """How deliveries are retried (from Settings)."""

    max_attempts: int
    backoff_seconds: float
    backoff_max_seconds: float
    lease_seconds: float

    @classmethod
    def of(cls, settings: Settings) -> Policy:
        return cls(
            settings.webhook_max_attempts,
            settings.webhook_backoff_seconds,
            settings.webhook_backoff_max_seconds,
            max(settings.webhook_lease_seconds, settings.webhook_timeout_seconds + 1),
        )

    def backoff(self, attempts: int) -> float:
        """Seconds before the next attempt: doubling from the first, capped, with full jitter
        over the upper half (receivers recovering from an outage are not hit in lockstep)."""
        ceiling = min(self.backoff_max_seconds, self.backoff_seconds * 2.0 ** (attempts - 1))
        return ceiling * random.uniform(0.5, 1.0)  # noqa: S311 -- jitter, not a secret


def render(body: dict[str, object]) -> str:
    return orjson.dumps(body).decode()


def fan_out(session: Session) -> int:
    """Deliveries for the next events past the cursor; returns how many events were taken."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(ChangeCounter).values(channel=CURSOR, value=0).on_conflict_do_nothing())
    cursor = session.scalar(
        select(ChangeCounter.value).where(ChangeCounter.channel == CURSOR).with_for_update()
    )
    assert cursor is not None
    hooks = list(session.scalars(select(Webhook).where(Webhook.active)))
    if not hooks:  # nobody to deliver to: only the cursor moves (retention waits for it)
        passed, last = session.execute(
            select(func.count(), func.max(Event.seq)).where(Event.seq > cursor)
        ).one()
        if passed:
            session.execute(update(ChangeCounter).where(ChangeCounter.channel == CURSOR).values(value=last))
        return int(passed)
    events = list(
        session.scalars(select(Event).where(Event.seq > cursor).order_by(Event.seq).limit(FAN_OUT_BATCH))
    )
    if not events:
        return 0
    names = tenant_ids(session, {event.tenant_pk for event in events})
    rows = []
    for event in events:
        for hook in hooks:
            wanted = hook.tenant_pk is None or hook.tenant_pk == event.tenant_pk
            # Only events after the subscription was made: nothing from before it existed.
            if wanted and event.created_at >= hook.created_at and matches(hook.event_types, event.kind):
                body = render(event_body(event, names.get(event.tenant_pk)))
                rows.append({"webhook_pk": hook.pk, "event_seq": event.seq, "kind": event.kind, "body": body})
    if rows:
        now = utcnow()
        session.execute(
            insert_into(WebhookDelivery),
            [
                {**row, "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now}
                for row in rows
            ],
        )
    last = events[-1].seq
    session.execute(update(ChangeCounter).where(ChangeCounter.channel == CURSOR).values(value=last))
    return len(events)


def queue_test(session: Session, webhook: Webhook, tenant_id: str | None) -> WebhookDelivery:
    """A webhook.test delivery for this subscription only (no event in the log)."""
    now = utcnow()
    delivery = WebhookDelivery(
        webhook_pk=webhook.pk,
        event_seq=None,
        kind="webhook.test",
        body="",
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(delivery)
    session.flush()
    delivery.body = render(
        {
            "id": f"test-{delivery.pk}",
            "type": "webhook.test",
            "createdAt": now.isoformat(),
            "tenantId": tenant_id,
            "data": {"webhookId": webhook.pk, "message": "A test event from Switchboard."},
        }
    )
    return delivery


def queue_test_event(
    session: Session, principal: Principal, webhook_id: int
) -> tuple[Webhook, WebhookDelivery]:
    """A webhook.test delivery for a visible, active subscription."""
    webhook = find_webhook(session, principal, webhook_id)
    if not webhook.active:
        raise BadRequest.field("active", "the subscription is disabled: re-enable it first")
    return webhook, queue_test(session, webhook, tenant_ids(session, {webhook.tenant_pk})[webhook.tenant_pk])


def claim(session: Session, policy: Policy, limit: int, now: datetime | None = None) -> list[Claim]:
    """Take up to `limit` due deliveries and lease them (next attempt pushed past the lease)."""
    now = now or utcnow()
    rows = list(
        session.execute(
            select(WebhookDelivery, Webhook)
            .join(Webhook, Webhook.pk == WebhookDelivery.webhook_pk)
            .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
            .order_by(WebhookDelivery.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True, of=WebhookDelivery)
        )
    )
    claims = []
    for delivery, hook in rows:
        if not hook.active:  # disabled since it was queued: nothing more is sent
            delivery.status, delivery.finished_at = "failed", now
            continue
        delivery.attempts += 1
        delivery.next_attempt_at = now + timedelta(seconds=policy.lease_seconds)
        event_id = str(delivery.event_seq) if delivery.event_seq is not None else f"test-{delivery.pk}"
        claims.append(
            Claim(
                delivery.pk,
                delivery.attempts,
                hook.pk,
                hook.url,
                hook.secret_encrypted,
                event_id,
                delivery.kind,
                delivery.body.encode(),
            )
        )
    return claims


def record(
    session: Session, sent: Claim, outcome: outbound.Outcome, policy: Policy, started: datetime
) -> None:
    """The attempt in the log, and what happens to the delivery next."""
    session.add(
        WebhookAttempt(
            delivery_pk=sent.delivery_pk,
            webhook_pk=sent.webhook_pk,
            attempt=sent.attempt,
            started_at=started,
            status_code=outcome.status,
            latency_ms=outcome.latency_ms,
            error=(outcome.error or "")[:300],
        )
    )
    delivery = session.scalar(
        select(WebhookDelivery).where(WebhookDelivery.pk == sent.delivery_pk).with_for_update()
    )
    if delivery is None or delivery.status != "pending" or delivery.attempts != sent.attempt:
        return  # deleted, or its lease ran out and another worker took it: theirs to record
    now = utcnow()
    status = outcome.status
    if status is not None and 200 <= status < 300:
        delivery.status, delivery.finished_at = "delivered", now
    elif status == 410:  # the receiver says the subscription is gone: stop sending it anything
        delivery.status, delivery.finished_at = "failed", now
        session.execute(
            update(Webhook)
            .where(Webhook.pk == sent.webhook_pk)
            .values(active=False, disabled_reason="the receiver answered 410 Gone", updated_at=now)
        )
    elif delivery.attempts >= policy.max_attempts:
        delivery.status, delivery.finished_at = "failed", now
    else:
        delivery.next_attempt_at = now + timedelta(seconds=policy.backoff(delivery.attempts))


def headers_for(sent: Claim, secret: str, timestamp: int) -> dict[str, str]:
    return {
        SIGNATURE_HEADER: signature(secret, timestamp, sent.body),
        "Switchboard-Event-Id": sent.event_id,
        "Switchboard-Event-Type": sent.kind,
        "Switchboard-Delivery": str(sent.delivery_pk),
        "Switchboard-Attempt": str(sent.attempt),
    }


def trim(session: Session, days: int) -> None:
    """Retention: deliveries, their attempts and events older than `days`. An event is kept
    until fanned out, so trimming never loses a delivery."""
    cutoff = utcnow() - timedelta(days=days)
    cursor = session.scalar(select(ChangeCounter.value).where(ChangeCounter.channel == CURSOR)) or 0
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.created_at < cutoff))
    session.execute(delete(WebhookAttempt).where(WebhookAttempt.started_at < cutoff))
    session.execute(delete(Event).where(Event.created_at < cutoff, Event.seq <= cursor))


class _Queries:
    """The idle worker's cheap looks (raw reads): any event past the cursor, any delivery due."""

    def __init__(self, db: Database) -> None:
        def unfanned() -> Any:
            cursor = select(ChangeCounter.value).where(ChangeCounter.channel == CURSOR).scalar_subquery()
            return select(exists().where(Event.seq > func.coalesce(cursor, 0)).label("found"))

        def due() -> Any:
            now = bindparam("now", type_=WebhookDelivery.next_attempt_at.type)
            pending = exists().where(
                WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now
            )
            return select(pending.label("found"))

        self.unfanned = db.reader.compiled("webhooks.unfanned", unfanned)
        self.due = db.reader.compiled("webhooks.due", due)


class EventWorker:
    """One per worker process: the fan-out, delivery and retention loops."""

    def __init__(self, db: Database, settings: Settings, box: SecretBox) -> None:
        self._db = db
        self._settings = settings
        self._box = box
        self._policy = Policy.of(settings)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake_fan_out = asyncio.Event()
        self._wake_send = asyncio.Event()
        self._stopping = False
        self._stopped = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._in_flight: set[asyncio.Task[None]] = set()
        self._queries = _Queries(db)

    def events_numbered(self) -> None:
        """Change-feed callback (any thread): new events may need fanning out."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake_fan_out.set)

    def deliveries_queued(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake_send.set)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake_fan_out.set()
        self._tasks = [
            asyncio.create_task(self._fan_out_loop(), name="webhook-fan-out"),
            asyncio.create_task(self._send_loop(), name="webhook-send"),
            asyncio.create_task(self._retention_loop(), name="event-retention"),
        ]

    async def stop(self) -> None:
        """Stop taking work; let requests in flight finish (within their timeout) and record."""
        self._stopping = True
        self._stopped.set()
        self._wake_fan_out.set()
        self._wake_send.set()
        for task in self._tasks:
            await task
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)

    async def _wait(self, event: asyncio.Event, seconds: float) -> bool:
        """Wait for `event` (True) or `seconds` (False)."""
        woken = False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), seconds)
            woken = True
        event.clear()
        return woken

    async def _reader_finds(self, query: Any) -> bool:
        row = await self._db.reader.fetch_one(query, {"now": utcnow()})
        return bool(row and row["found"])

    async def _fan_out_loop(self) -> None:
        woken = True
        while not self._stopping:
            taken = 0
            try:
                # Timer rounds (for events numbered while this process was not listening) look
                # first with one indexed read: an idle worker writes nothing.
                if woken or await self._reader_finds(self._queries.unfanned):
                    taken = await asyncio.to_thread(self._fan_out_once)
            except Exception as exc:  # the database may be away: the next round retries
                log.warning("webhook fan-out: %s", type(exc).__name__, exc_info=True)
            if taken:
                self._wake_send.set()
            woken = taken >= FAN_OUT_BATCH or await self._wait(self._wake_fan_out, 1.0)
            if woken:  # gather what else is numbered meanwhile: one fan-out for many events
                await asyncio.sleep(FAN_OUT_COALESCE_SECONDS)

    def _fan_out_once(self) -> int:
        with self._db.transaction() as session:
            return fan_out(session)

    async def _send_loop(self) -> None:
        woken = True
        while not self._stopping:
            free = self._settings.webhook_concurrency - len(self._in_flight)
            claims: list[Claim] = []
            try:
                # Timer rounds (retries coming due, deliveries queued by other processes) look
                # first with one indexed read; the claim itself is a write.
                if free > 0 and (woken or await self._reader_finds(self._queries.due)):
                    claims = await asyncio.to_thread(self._claim, free)
            except Exception as exc:
                log.warning("webhook claim: %s", type(exc).__name__, exc_info=True)
            for sent in claims:
                task = asyncio.create_task(self._deliver(sent))
                self._in_flight.add(task)
                task.add_done_callback(self._in_flight.discard)
            if claims and len(claims) < free:
                woken = True  # there may be more due: claim again at once
            else:  # nothing due, or every slot busy: a queued delivery or a finished send wakes it
                woken = await self._wait(self._wake_send, 0.25)

    def _claim(self, limit: int) -> list[Claim]:
        with self._db.transaction() as session:
            return claim(session, self._policy, limit)

    async def _deliver(self, sent: Claim) -> None:
        started = utcnow()
        try:
            secret = self._box.open(sent.sealed_secret)
        except ValueError as exc:
            outcome = outbound.Outcome(None, 0.0, str(exc))
        else:
            ca_file = self._settings.webhook_ca_file
            outcome = await outbound.post(
                sent.url,
                sent.body,
                headers_for(sent, secret, int(time.time())),
                allowed_networks=self._settings.webhook_networks,
                allow_http=self._settings.insecure_http,
                timeout=self._settings.webhook_timeout_seconds,
                ca_file=str(ca_file) if ca_file else None,
            )
        try:
            await asyncio.to_thread(self._record, sent, outcome, started)
        except Exception as exc:  # not recorded: the lease runs out and the attempt is retried
            log.warning("webhook delivery %d not recorded: %s", sent.delivery_pk, type(exc).__name__)
        self._wake_send.set()

    async def _retention_loop(self) -> None:
        next_round = 0.0
        while not self._stopping:
            if time.monotonic() >= next_round:
                next_round = time.monotonic() + 600
                try:
                    await asyncio.to_thread(self._trim)
                except Exception as exc:
                    log.warning("event retention: %s", type(exc).__name__)
            await self._wait(self._stopped, 1.0)

    def _trim(self) -> None:
        with self._db.transaction() as session:
            trim(session, self._settings.event_retention_days)

    def _record(self, sent: Claim, outcome: outbound.Outcome, started: datetime) -> None:
        with self._db.transaction() as session:
            record(session, sent, outcome, self._policy, started)
