"""lead_import_runs: the console's CSV imports, their progress and outcome (post/redirect/get)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-08 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lead_import_runs",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("campaign_pk", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("updating", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("rows_done", sa.Integer(), nullable=False),
        sa.Column("rows_written", sa.Integer(), nullable=False),
        sa.Column("failed", sa.JSON(), nullable=False),
        sa.Column("message", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_pk"],
            ["campaigns.pk"],
            name=op.f("fk_lead_import_runs_campaign_pk_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_lead_import_runs")),
        sa.UniqueConstraint("run_id", name=op.f("uq_lead_import_runs_run_id")),
    )
    with op.batch_alter_table("lead_import_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lead_import_runs_campaign_pk"), ["campaign_pk"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("lead_import_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lead_import_runs_campaign_pk"))
    op.drop_table("lead_import_runs")
