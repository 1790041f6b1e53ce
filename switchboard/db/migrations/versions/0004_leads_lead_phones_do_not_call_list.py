"""leads, lead phones, do-not-call list

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 12:52:32.035826
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "do_not_call",
        sa.Column("tenant_pk", sa.Integer(), nullable=False),
        sa.Column(
            "number",
            sa.String(length=20).with_variant(sa.String(length=20, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_pk"], ["tenants.pk"], name=op.f("fk_do_not_call_tenant_pk_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_pk", "number", name=op.f("pk_do_not_call")),
    )
    op.create_table(
        "leads",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("campaign_pk", sa.Integer(), nullable=False),
        sa.Column(
            "external_id",
            sa.String(length=100).with_variant(sa.String(length=100, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("callback_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disposition", sa.String(length=80), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('new', 'callback', 'finished')", name=op.f("ck_leads_status")),
        sa.CheckConstraint("priority BETWEEN 0 AND 100", name=op.f("ck_leads_priority")),
        sa.ForeignKeyConstraint(
            ["campaign_pk"], ["campaigns.pk"], name=op.f("fk_leads_campaign_pk_campaigns"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_leads")),
        sa.UniqueConstraint("campaign_pk", "external_id", name=op.f("uq_leads_campaign_pk_external_id")),
    )
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.create_index(
            "ix_leads_campaign_pk_status_priority_pk",
            ["campaign_pk", "status", "priority", "pk"],
            unique=False,
        )

    op.create_table(
        "lead_phones",
        sa.Column("lead_pk", sa.Integer(), nullable=False),
        sa.Column(
            "number",
            sa.String(length=20).with_variant(sa.String(length=20, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("campaign_pk", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_pk"],
            ["campaigns.pk"],
            name=op.f("fk_lead_phones_campaign_pk_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["lead_pk"], ["leads.pk"], name=op.f("fk_lead_phones_lead_pk_leads"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("lead_pk", "number", name=op.f("pk_lead_phones")),
    )
    with op.batch_alter_table("lead_phones", schema=None) as batch_op:
        batch_op.create_index("ix_lead_phones_campaign_pk_number", ["campaign_pk", "number"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("lead_phones", schema=None) as batch_op:
        batch_op.drop_index("ix_lead_phones_campaign_pk_number")

    op.drop_table("lead_phones")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index("ix_leads_campaign_pk_status_priority_pk")

    op.drop_table("leads")
    op.drop_table("do_not_call")
