"""Keeping PostgreSQL's planner right while a bulk load grows tables from nearly empty."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session


def plan_for_each_call(session: Session) -> None:
    """Plan each statement of this transaction for its own parameters: the generic plan the
    server caches for a prepared statement after a few runs (a sequential scan, right for an
    empty table) would otherwise be kept while the table grows, each batch slower than the last."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))


def refresh_statistics(session: Session, tables: tuple[str, ...]) -> None:
    """Re-sample the tables' statistics inside the transaction (ANALYZE counts the transaction's
    own uncommitted rows, which autovacuum cannot see): without it, a dry run that has inserted
    half a million rows is planned as if the table were empty."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"ANALYZE {', '.join(tables)}"))
