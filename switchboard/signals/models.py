"""Change counters: bumped in the transaction that makes a change, so every worker can notice it."""

from __future__ import annotations

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.db.base import Base


class ChangeCounter(Base):
    __tablename__ = "change_counters"

    channel: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class RateCounter(Base):
    """Requests or failures counted per bucket (key, address) and fixed window, shared by workers."""

    __tablename__ = "rate_counters"

    bucket: Mapped[str] = mapped_column(String(120), primary_key=True)
    window: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # window start, epoch seconds
    count: Mapped[int] = mapped_column(BigInteger, default=0)
