"""Calls, recordings and each tenant's dialling policy."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.db.base import Base, JSONType, TZDateTime, key_string, utcnow

# Failed: the PBX could not ring the phone or the number at all (no such phone, not registered,
# no route); Congestion: the network had no line free. Both ended without an answer, like Busy.
CALL_STATES = ("Dialing Out", "Ringing", "Connected", "Hungup", "Busy", "No Answer", "Congestion", "Failed")
ENDED_STATES = frozenset({"Hungup", "Busy", "No Answer", "Congestion", "Failed"})
# A recording runs (recording, paused) until it is stopped with its file written, or ends
# "failed": the PBX wrote no file (Asterisk could not open it), so there is nothing to serve.
RECORDING_STATES = ("recording", "paused", "stopped", "failed")
RUNNING_RECORDING_STATES = ("recording", "paused")


class Call(Base):
    """A call as the PBX reported it, on an extension of the directory (hence a tenant)."""

    __tablename__ = "calls"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    unique_id: Mapped[str] = mapped_column(key_string(40), unique=True)  # Asterisk style: 1412750652.496
    tenant_pk: Mapped[int | None] = mapped_column(ForeignKey("tenants.pk", ondelete="CASCADE"))
    extension: Mapped[str] = mapped_column(String(20))
    other_party: Mapped[str] = mapped_column(String(40), default="")
    direction: Mapped[str] = mapped_column(String(10))
    caller_id: Mapped[str] = mapped_column(String(40), default="")
    state: Mapped[str] = mapped_column(String(20))
    campaign_pk: Mapped[int | None] = mapped_column(ForeignKey("campaigns.pk", ondelete="SET NULL"))
    originated_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.pk", ondelete="SET NULL"))
    api_originated: Mapped[bool] = mapped_column(Boolean, default=False)
    # dial with record=true: {"owner": the dialler's username or None, "tag": ...}, started on answer.
    record_on_answer: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    started_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(TZDateTime)

    __table_args__ = (
        CheckConstraint("direction IN ('inbound', 'outbound')", name="direction"),
        # "The live call on extension 410 of this tenant", newest first: the hot lookup.
        Index("ix_calls_tenant_pk_extension_pk", "tenant_pk", "extension", "pk"),
        Index("ix_calls_campaign_pk", "campaign_pk"),
    )


class Recording(Base):
    """One recording leg of a call: from a start to its stop, pauses inside it."""

    __tablename__ = "recordings"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_pk: Mapped[int] = mapped_column(ForeignKey("calls.pk", ondelete="CASCADE"))
    tenant_pk: Mapped[int | None] = mapped_column(ForeignKey("tenants.pk", ondelete="CASCADE"))
    leg: Mapped[int] = mapped_column(Integer)  # 1, 2, ... per call
    owner_pk: Mapped[int | None] = mapped_column(ForeignKey("accounts.pk", ondelete="SET NULL"))
    owner_username: Mapped[str] = mapped_column(String(64), default="")  # kept if the account goes
    tag: Mapped[str] = mapped_column(String(100), default="")
    state: Mapped[str] = mapped_column(String(10))
    file: Mapped[str] = mapped_column(String(400))
    started_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    paused_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    paused_seconds: Mapped[float] = mapped_column(Float, default=0.0)

    __table_args__ = (
        CheckConstraint("state IN ('recording', 'paused', 'stopped', 'failed')", name="state"),
        Index("ix_recordings_call_pk_leg", "call_pk", "leg", unique=True),
        Index("ix_recordings_tenant_pk_tag", "tenant_pk", "tag"),
    )


class DiallingPolicy(Base):
    """What a tenant's API callers may dial (full-match patterns) and how many API calls at once."""

    __tablename__ = "dialling_policies"

    tenant_pk: Mapped[int] = mapped_column(ForeignKey("tenants.pk", ondelete="CASCADE"), primary_key=True)
    allowed: Mapped[list[str]] = mapped_column(JSONType, default=list)
    max_concurrent_calls: Mapped[int] = mapped_column(Integer, default=10)
