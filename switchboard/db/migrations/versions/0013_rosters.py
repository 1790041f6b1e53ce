"""rosters: weekly shifts, one-off overrides, stack positions

Revision ID: 0013
Revises: 0010
Create Date: 2026-12-07 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "roster_overrides",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("team_pk", sa.Integer(), nullable=False),
        sa.Column("account_pk", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("on_shift", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("starts_at < ends_at", name=op.f("ck_roster_overrides_period")),
        sa.ForeignKeyConstraint(
            ["team_pk", "account_pk"],
            ["team_members.team_pk", "team_members.account_pk"],
            name=op.f("fk_roster_overrides_team_pk_team_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_roster_overrides")),
    )
    with op.batch_alter_table("roster_overrides", schema=None) as batch_op:
        batch_op.create_index("ix_roster_overrides_team_pk_ends_at", ["team_pk", "ends_at"], unique=False)

    op.create_table(
        "roster_shifts",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("team_pk", sa.Integer(), nullable=False),
        sa.Column("account_pk", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("start_minute", sa.Integer(), nullable=False),
        sa.Column("end_minute", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "start_minute >= 0 AND end_minute <= 1440 AND start_minute < end_minute",
            name=op.f("ck_roster_shifts_hours"),
        ),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name=op.f("ck_roster_shifts_weekday")),
        sa.ForeignKeyConstraint(
            ["team_pk", "account_pk"],
            ["team_members.team_pk", "team_members.account_pk"],
            name=op.f("fk_roster_shifts_team_pk_team_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_roster_shifts")),
    )
    with op.batch_alter_table("roster_shifts", schema=None) as batch_op:
        batch_op.create_index("ix_roster_shifts_team_pk_weekday", ["team_pk", "weekday"], unique=False)

    with op.batch_alter_table("team_members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stack_position", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("team_members", schema=None) as batch_op:
        batch_op.drop_column("stack_position")

    with op.batch_alter_table("roster_shifts", schema=None) as batch_op:
        batch_op.drop_index("ix_roster_shifts_team_pk_weekday")

    op.drop_table("roster_shifts")
    with op.batch_alter_table("roster_overrides", schema=None) as batch_op:
        batch_op.drop_index("ix_roster_overrides_team_pk_ends_at")

    op.drop_table("roster_overrides")
