"""calls, recordings, call event log, dialling policies

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 13:23:06.074401
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "call_events",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_pk", sa.Integer(), nullable=True),
        sa.Column("unique_id", sa.String(length=40), nullable=False),
        sa.Column("extension", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_pk"], ["tenants.pk"], name=op.f("fk_call_events_tenant_pk_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_call_events")),
    )
    with op.batch_alter_table("call_events", schema=None) as batch_op:
        batch_op.create_index("ix_call_events_tenant_pk_seq", ["tenant_pk", "seq"], unique=False)

    op.create_table(
        "dialling_policies",
        sa.Column("tenant_pk", sa.Integer(), nullable=False),
        sa.Column("allowed", sa.JSON(), nullable=False),
        sa.Column("max_concurrent_calls", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_pk"],
            ["tenants.pk"],
            name=op.f("fk_dialling_policies_tenant_pk_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_pk", name=op.f("pk_dialling_policies")),
    )
    op.create_table(
        "calls",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column(
            "unique_id",
            sa.String(length=40).with_variant(sa.String(length=40, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("tenant_pk", sa.Integer(), nullable=True),
        sa.Column("extension", sa.String(length=20), nullable=False),
        sa.Column("other_party", sa.String(length=40), nullable=False),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("caller_id", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("campaign_pk", sa.Integer(), nullable=True),
        sa.Column("originated_by", sa.Integer(), nullable=True),
        sa.Column("api_originated", sa.Boolean(), nullable=False),
        sa.Column("record_on_answer", sa.JSON(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("direction IN ('inbound', 'outbound')", name=op.f("ck_calls_direction")),
        sa.ForeignKeyConstraint(
            ["campaign_pk"],
            ["campaigns.pk"],
            name=op.f("fk_calls_campaign_pk_campaigns"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["originated_by"],
            ["accounts.pk"],
            name=op.f("fk_calls_originated_by_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_pk"], ["tenants.pk"], name=op.f("fk_calls_tenant_pk_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_calls")),
        sa.UniqueConstraint("unique_id", name=op.f("uq_calls_unique_id")),
    )
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.create_index("ix_calls_campaign_pk", ["campaign_pk"], unique=False)
        batch_op.create_index(
            "ix_calls_tenant_pk_extension_pk", ["tenant_pk", "extension", "pk"], unique=False
        )

    op.create_table(
        "recordings",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("call_pk", sa.Integer(), nullable=False),
        sa.Column("tenant_pk", sa.Integer(), nullable=True),
        sa.Column("leg", sa.Integer(), nullable=False),
        sa.Column("owner_pk", sa.Integer(), nullable=True),
        sa.Column("owner_username", sa.String(length=64), nullable=False),
        sa.Column("tag", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("file", sa.String(length=400), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paused_seconds", sa.Float(), nullable=False),
        sa.CheckConstraint("state IN ('recording', 'paused', 'stopped')", name=op.f("ck_recordings_state")),
        sa.ForeignKeyConstraint(
            ["call_pk"], ["calls.pk"], name=op.f("fk_recordings_call_pk_calls"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["owner_pk"], ["accounts.pk"], name=op.f("fk_recordings_owner_pk_accounts"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_pk"], ["tenants.pk"], name=op.f("fk_recordings_tenant_pk_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_recordings")),
    )
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.create_index("ix_recordings_call_pk_leg", ["call_pk", "leg"], unique=True)
        batch_op.create_index("ix_recordings_tenant_pk_tag", ["tenant_pk", "tag"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.drop_index("ix_recordings_tenant_pk_tag")
        batch_op.drop_index("ix_recordings_call_pk_leg")

    op.drop_table("recordings")
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index("ix_calls_tenant_pk_extension_pk")
        batch_op.drop_index("ix_calls_campaign_pk")

    op.drop_table("calls")
    op.drop_table("dialling_policies")
    with op.batch_alter_table("call_events", schema=None) as batch_op:
        batch_op.drop_index("ix_call_events_tenant_pk_seq")

    op.drop_table("call_events")
