"""The import jobs table: a bulk import's progress, kept where every process can read it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.db.base import Base, JSONType, TZDateTime, utcnow


class ImportJob(Base):
    """One import: who started it, where it is, what it found."""

    __tablename__ = "import_jobs"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[str] = mapped_column(String(32), unique=True)  # public: uuid4 hex
    tenant_pk: Mapped[int | None] = mapped_column(ForeignKey("tenants.pk", ondelete="CASCADE"))
    created_by: Mapped[str] = mapped_column(String(200))
    file_name: Mapped[str] = mapped_column(String(40))
    check_only: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(12))
    phase: Mapped[str] = mapped_column(String(12))
    rows_total: Mapped[int | None] = mapped_column(Integer)
    rows_checked: Mapped[int] = mapped_column(Integer, default=0)
    rows_loaded: Mapped[int] = mapped_column(Integer, default=0)
    rows_skipped: Mapped[int] = mapped_column(Integer, default=0)
    rows_created: Mapped[int] = mapped_column(Integer, default=0)
    rows_updated: Mapped[int] = mapped_column(Integer, default=0)
    rows_unchanged: Mapped[int] = mapped_column(Integer, default=0)
    problem_count: Mapped[int] = mapped_column(Integer, default=0)
    problems: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    message: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)  # the heartbeat
    finished_at: Mapped[datetime | None] = mapped_column(TZDateTime)

    # A tenant administrator's list, newest first.
    __table_args__ = (Index("ix_import_jobs_tenant_pk_pk", "tenant_pk", "pk"),)
