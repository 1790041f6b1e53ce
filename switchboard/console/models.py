"""Console sign-in sessions: only a digest of the cookie's secret is stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.db.base import Base, TZDateTime, utcnow


class ConsoleSession(Base):
    """One signed-in browser. The account's role and scope at sign-in are kept: a session whose
    account has since changed role or scope is no longer valid (the user signs in again)."""

    __tablename__ = "console_sessions"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_pk: Mapped[int] = mapped_column(ForeignKey("accounts.pk", ondelete="CASCADE"), index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    tenant_pk: Mapped[int | None] = mapped_column(Integer)
    group_pk: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(TZDateTime, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    # A value for the next page only (a new key), sealed with the cookie's secret: see sessions.keep_once.
    once_sealed: Mapped[str | None] = mapped_column(Text)
