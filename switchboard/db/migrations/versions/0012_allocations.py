"""allocations: named batches of a campaign's leads

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 13:00:00

Every lead gets an allocation: the leads written before this revision go to their campaign's
default allocation ("Default"), created here for each campaign that has leads.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    allocations = op.create_table(
        "allocations",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("campaign_pk", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column(
            "name_key",
            sa.String(length=80).with_variant(sa.String(length=80, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_pk"],
            ["campaigns.pk"],
            name=op.f("fk_allocations_campaign_pk_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_allocations")),
        sa.UniqueConstraint("campaign_pk", "name_key", name=op.f("uq_allocations_campaign_pk_name_key")),
    )
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("allocation_pk", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_leads_allocation_pk_allocations"),
            "allocations",
            ["allocation_pk"],
            ["pk"],
            ondelete="CASCADE",
        )
        batch_op.create_index("ix_leads_allocation_pk", ["allocation_pk"], unique=False)

    # Data: each campaign with leads gets its default allocation, and its leads go there.
    assert allocations is not None
    leads = sa.table(
        "leads", sa.column("campaign_pk", sa.Integer()), sa.column("allocation_pk", sa.Integer())
    )
    bind = op.get_bind()
    campaign_pks = bind.execute(sa.select(leads.c.campaign_pk).distinct()).scalars().all()
    now = datetime.now(UTC)
    for campaign_pk in campaign_pks:
        bind.execute(
            allocations.insert().values(
                campaign_pk=campaign_pk, name="Default", name_key="default", created_at=now
            )
        )
    bind.execute(
        leads.update().values(
            allocation_pk=sa.select(allocations.c.pk)
            .where(allocations.c.campaign_pk == leads.c.campaign_pk)
            .scalar_subquery()
        )
    )


def downgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index("ix_leads_allocation_pk")
        batch_op.drop_constraint(batch_op.f("fk_leads_allocation_pk_allocations"), type_="foreignkey")
        batch_op.drop_column("allocation_pk")
    op.drop_table("allocations")
