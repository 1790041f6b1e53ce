"""rosters: weekly shifts, one-off overrides, stack positions

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _of_membership(table: str) -> list[sa.schema.SchemaItem]:
    """The columns and keys every roster table has: a row about one member of one team."""
    return [
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("team_pk", sa.Integer(), nullable=False),
        sa.Column("account_pk", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_pk", "account_pk"],
            ["team_members.team_pk", "team_members.account_pk"],
            name=op.f(f"fk_{table}_team_pk_team_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f(f"pk_{table}")),
    ]


def upgrade() -> None:
    op.create_table(
        "roster_overrides",
        *_of_membership("roster_overrides"),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("on_shift", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("starts_at < ends_at", name=op.f("ck_roster_overrides_period")),
    )
    op.create_index("ix_roster_overrides_team_pk_ends_at", "roster_overrides", ["team_pk", "ends_at"])
    op.create_table(
        "roster_shifts",
        *_of_membership("roster_shifts"),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("start_minute", sa.Integer(), nullable=False),
        sa.Column("end_minute", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "start_minute >= 0 AND end_minute <= 1440 AND start_minute < end_minute",
            name=op.f("ck_roster_shifts_hours"),
        ),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name=op.f("ck_roster_shifts_weekday")),
    )
    op.create_index("ix_roster_shifts_team_pk_weekday", "roster_shifts", ["team_pk", "weekday"])
    with op.batch_alter_table("team_members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stack_position", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("team_members", schema=None) as batch_op:
        batch_op.drop_column("stack_position")
    op.drop_table("roster_shifts")  # with its index
    op.drop_table("roster_overrides")
