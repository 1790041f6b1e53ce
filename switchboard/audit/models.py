"""Audit entries. Never holds a secret: principals are named by key prefix or account."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.db.base import Base, TZDateTime, utcnow


class AuditEntry(Base):
    __tablename__ = "audit_log"

    pk: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow, index=True)
    principal: Mapped[str] = mapped_column(String(120))  # "global_key:sbg_abcdef", "account:alice", "-"
    principal_tenant_pk: Mapped[int | None] = mapped_column(Integer, nullable=True)
    client: Mapped[str] = mapped_column(String(64))
    operation: Mapped[str] = mapped_column(String(80))  # "POST /api/v1/tenants/{tenant_id}/groups/"
    object: Mapped[str] = mapped_column(String(200), default="")  # "group:t1/g1"
    # The tenant the object belongs to: a tenant admin sees only entries of its own tenant.
    tenant_pk: Mapped[int | None] = mapped_column(Integer, nullable=True)
    decision: Mapped[str] = mapped_column(String(12))  # allow | deny | fail
    status: Mapped[int] = mapped_column(Integer)
    reason_code: Mapped[str] = mapped_column(String(40), default="")
    reason: Mapped[str] = mapped_column(String(300), default="")

    __table_args__ = (Index("ix_audit_log_tenant_pk_pk", "tenant_pk", "pk"),)
