"""campaign list: template campaigns version, team-tenant index

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 13:06:54.354195
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaign_templates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("campaigns_version", sa.Integer(), server_default="0", nullable=False))
        batch_op.drop_index(batch_op.f("ix_campaign_templates_team_pk"))
        batch_op.create_index(
            "ix_campaign_templates_team_pk_tenant_pk", ["team_pk", "tenant_pk"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("campaign_templates", schema=None) as batch_op:
        batch_op.drop_index("ix_campaign_templates_team_pk_tenant_pk")
        batch_op.create_index(batch_op.f("ix_campaign_templates_team_pk"), ["team_pk"], unique=False)
        batch_op.drop_column("campaigns_version")
