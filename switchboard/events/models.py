"""The event log, webhook subscriptions, their deliveries and each delivery attempt."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.db.base import Base, JSONType, TZDateTime, utcnow

BigPK = BigInteger().with_variant(Integer, "sqlite")  # SQLite's rowid is its 64-bit key


class Event(Base):
    """One change, appended in the transaction that makes it (the transactional outbox).

    `pk` orders writes; `seq` is the public sequence number, given by the sequencer
    (switchboard.events.sequencer) in the order the events became visible, so a reader that
    has seen `seq` N can never later find an event numbered below N. Unnumbered: not yet public.
    """

    __tablename__ = "events"

    pk: Mapped[int] = mapped_column(BigPK, primary_key=True)
    seq: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(40))
    tenant_pk: Mapped[int | None] = mapped_column(ForeignKey("tenants.pk", ondelete="CASCADE"))
    extension: Mapped[str | None] = mapped_column(String(20))
    unique_id: Mapped[str | None] = mapped_column(String(40))
    campaign_id: Mapped[int | None] = mapped_column(Integer)  # kept as history: no foreign key
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_events_seq", "seq", unique=True),
        # subscribe: an extension's events after a sequence number.
        Index("ix_events_tenant_pk_extension_seq", "tenant_pk", "extension", "seq"),
        # The sequencer's work list: small, whatever the size of the log.
        Index(
            "ix_events_pending",
            "pk",
            sqlite_where=text("seq IS NULL"),
            postgresql_where=text("seq IS NULL"),
        ),
        Index("ix_events_created_at", "created_at"),
    )


class Webhook(Base):
    """A subscription: where to POST which events, signed with a secret kept encrypted."""

    __tablename__ = "webhooks"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_pk: Mapped[int | None] = mapped_column(ForeignKey("tenants.pk", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2000))
    event_types: Mapped[list[str]] = mapped_column(JSONType, default=list)
    description: Mapped[str] = mapped_column(String(200), default="")
    secret_encrypted: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)

    __table_args__ = (Index("ix_webhooks_tenant_pk", "tenant_pk"),)


class WebhookDelivery(Base):
    """One event for one subscription, until delivered or given up.

    Claimed by setting `next_attempt_at` past a lease: a worker that dies mid-send leaves the
    row due again when the lease ends, and another worker retries it.
    """

    __tablename__ = "webhook_deliveries"

    pk: Mapped[int] = mapped_column(BigPK, primary_key=True)
    webhook_pk: Mapped[int] = mapped_column(ForeignKey("webhooks.pk", ondelete="CASCADE"))
    event_seq: Mapped[int | None] = mapped_column(BigInteger)  # None: a test event
    kind: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending, delivered, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(TZDateTime)

    __table_args__ = (
        Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_webhook_pk_pk", "webhook_pk", "pk"),
        Index("ix_webhook_deliveries_created_at", "created_at"),
    )


class WebhookAttempt(Base):
    """The delivery log: one row per POST tried."""

    __tablename__ = "webhook_attempts"

    pk: Mapped[int] = mapped_column(BigPK, primary_key=True)
    delivery_pk: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.pk", ondelete="CASCADE"))
    webhook_pk: Mapped[int] = mapped_column(ForeignKey("webhooks.pk", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str] = mapped_column(String(300), default="")

    __table_args__ = (
        Index("ix_webhook_attempts_webhook_pk_pk", "webhook_pk", "pk"),
        Index("ix_webhook_attempts_delivery_pk", "delivery_pk"),
    )
