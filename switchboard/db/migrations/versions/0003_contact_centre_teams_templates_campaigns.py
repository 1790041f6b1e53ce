"""contact centre: teams, templates, campaigns

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 11:52:52.308554
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "teams",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("tenant_pk", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column(
            "name_key",
            sa.String(length=80).with_variant(sa.String(length=80, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_pk"], ["tenants.pk"], name=op.f("fk_teams_tenant_pk_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_teams")),
        sa.UniqueConstraint("tenant_pk", "name_key", name=op.f("uq_teams_tenant_pk_name_key")),
    )
    op.create_table(
        "campaign_templates",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("tenant_pk", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column(
            "name_key",
            sa.String(length=80).with_variant(sa.String(length=80, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("team_pk", sa.Integer(), nullable=True),
        sa.Column("dial_mode", sa.String(length=20), nullable=False),
        sa.Column("dispositions", sa.JSON(), nullable=False),
        sa.Column("lead_fields", sa.JSON(), nullable=False),
        sa.Column("contact_hours", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "dial_mode IN ('preview', 'progressive', 'predictive')",
            name=op.f("ck_campaign_templates_dial_mode"),
        ),
        sa.ForeignKeyConstraint(
            ["team_pk"], ["teams.pk"], name=op.f("fk_campaign_templates_team_pk_teams"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_pk"],
            ["tenants.pk"],
            name=op.f("fk_campaign_templates_tenant_pk_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_campaign_templates")),
        sa.UniqueConstraint("tenant_pk", "name_key", name=op.f("uq_campaign_templates_tenant_pk_name_key")),
    )
    with op.batch_alter_table("campaign_templates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_campaign_templates_team_pk"), ["team_pk"], unique=False)

    op.create_table(
        "campaigns",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("tenant_pk", sa.Integer(), nullable=False),
        sa.Column("template_pk", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column(
            "name_key",
            sa.String(length=80).with_variant(sa.String(length=80, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('active', 'paused', 'finished')", name=op.f("ck_campaigns_status")),
        sa.ForeignKeyConstraint(
            ["template_pk"],
            ["campaign_templates.pk"],
            name=op.f("fk_campaigns_template_pk_campaign_templates"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_pk"], ["tenants.pk"], name=op.f("fk_campaigns_tenant_pk_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_campaigns")),
        sa.UniqueConstraint("tenant_pk", "name_key", name=op.f("uq_campaigns_tenant_pk_name_key")),
    )
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_campaigns_template_pk"), ["template_pk"], unique=False)

    op.create_table(
        "team_members",
        sa.Column("team_pk", sa.Integer(), nullable=False),
        sa.Column("account_pk", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.CheckConstraint("role IN ('agent', 'supervisor')", name=op.f("ck_team_members_role")),
        sa.ForeignKeyConstraint(
            ["account_pk"],
            ["accounts.pk"],
            name=op.f("fk_team_members_account_pk_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_pk"], ["teams.pk"], name=op.f("fk_team_members_team_pk_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("team_pk", "account_pk", name=op.f("pk_team_members")),
    )
    with op.batch_alter_table("team_members", schema=None) as batch_op:
        batch_op.create_index("ix_team_members_account_pk_team_pk", ["account_pk", "team_pk"], unique=False)

    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "teamless_templates_visible_to", sa.String(length=10), server_default="admins", nullable=False
            )
        )
        batch_op.create_check_constraint(
            op.f("ck_tenants_teamless"), "teamless_templates_visible_to IN ('admins', 'everyone')"
        )


def downgrade() -> None:
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_tenants_teamless"), type_="check")
        batch_op.drop_column("teamless_templates_visible_to")

    with op.batch_alter_table("team_members", schema=None) as batch_op:
        batch_op.drop_index("ix_team_members_account_pk_team_pk")

    op.drop_table("team_members")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaigns_template_pk"))

    op.drop_table("campaigns")
    with op.batch_alter_table("campaign_templates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaign_templates_team_pk"))

    op.drop_table("campaign_templates")
    op.drop_table("teams")
