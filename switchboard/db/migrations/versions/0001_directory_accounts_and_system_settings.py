"""directory, accounts and system settings

Revision ID: 0001
Revises:
Create Date: 2026-11-22 10:01:31.323187
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "system_settings",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_system_settings")),
    )
    op.create_table(
        "tenants",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.String(length=30), nullable=False),
        sa.Column(
            "tenant_key",
            sa.String(length=30).with_variant(sa.String(length=30, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("default_domain", sa.String(length=80), nullable=False),
        sa.Column("support_email", sa.String(length=80), nullable=False),
        sa.Column("use_custom_routing_profile", sa.Boolean(), nullable=False),
        sa.Column("use_tenant_languages", sa.Boolean(), nullable=False),
        sa.Column("contact", sa.JSON(), nullable=False),
        sa.Column("address_information", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("type IN ('ServiceProvider', 'Enterprise')", name=op.f("ck_tenants_type")),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_tenants")),
        sa.UniqueConstraint("tenant_key", name=op.f("uq_tenants_tenant_key")),
    )
    op.create_table(
        "domains",
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
            ["tenant_pk"], ["tenants.pk"], name=op.f("fk_domains_tenant_pk_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_domains")),
        sa.UniqueConstraint("name_key", name=op.f("uq_domains_name_key")),
    )
    with op.batch_alter_table("domains", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_domains_tenant_pk"), ["tenant_pk"], unique=False)

    op.create_table(
        "groups",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("tenant_pk", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.String(length=30), nullable=False),
        sa.Column(
            "group_key",
            sa.String(length=30).with_variant(sa.String(length=30, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("group_name", sa.String(length=80), nullable=False),
        sa.Column("default_domain", sa.String(length=80), nullable=False),
        sa.Column("user_limit", sa.Integer(), nullable=False),
        sa.Column("user_count", sa.Integer(), nullable=False),
        sa.Column("cli_name", sa.String(length=80), nullable=False),
        sa.Column("cli_phone_number", sa.String(length=30), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("location_dialing_code", sa.String(length=20), nullable=False),
        sa.Column("contact", sa.JSON(), nullable=False),
        sa.Column("address_information", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("user_count >= 0 AND user_count <= user_limit", name=op.f("ck_groups_user_limit")),
        sa.ForeignKeyConstraint(
            ["tenant_pk"], ["tenants.pk"], name=op.f("fk_groups_tenant_pk_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_groups")),
        sa.UniqueConstraint("tenant_pk", "group_key", name=op.f("uq_groups_tenant_pk_group_key")),
    )
    op.create_table(
        "departments",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("tenant_pk", sa.Integer(), nullable=False),
        sa.Column("group_pk", sa.Integer(), nullable=True),
        sa.Column("scope_pk", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column(
            "name_key",
            sa.String(length=80).with_variant(sa.String(length=80, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("parent_pk", sa.Integer(), nullable=True),
        sa.Column("full_path_name", sa.String(length=1000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_pk"], ["groups.pk"], name=op.f("fk_departments_group_pk_groups"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["parent_pk"], ["departments.pk"], name=op.f("fk_departments_parent_pk_departments")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_pk"], ["tenants.pk"], name=op.f("fk_departments_tenant_pk_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_departments")),
        sa.UniqueConstraint(
            "tenant_pk", "scope_pk", "name_key", name=op.f("uq_departments_tenant_pk_scope_pk_name_key")
        ),
    )
    with op.batch_alter_table("departments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_departments_parent_pk"), ["parent_pk"], unique=False)

    op.create_table(
        "service_users",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("tenant_pk", sa.Integer(), nullable=False),
        sa.Column("group_pk", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("service_user_id", sa.String(length=80), nullable=False),
        sa.Column(
            "service_user_key",
            sa.String(length=80).with_variant(sa.String(length=80, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("calling_line_id_last_name", sa.String(length=80), nullable=False),
        sa.Column("calling_line_id_first_name", sa.String(length=80), nullable=False),
        sa.Column("phone_number", sa.String(length=30), nullable=False),
        sa.Column("extension", sa.String(length=20), nullable=False),
        sa.Column("department_pk", sa.Integer(), nullable=True),
        sa.Column("language", sa.String(length=40), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('ivr', 'call_center', 'hunt_group', 'route_point')", name=op.f("ck_service_users_kind")
        ),
        sa.ForeignKeyConstraint(
            ["department_pk"],
            ["departments.pk"],
            name=op.f("fk_service_users_department_pk_departments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["group_pk"], ["groups.pk"], name=op.f("fk_service_users_group_pk_groups"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_pk"], ["tenants.pk"], name=op.f("fk_service_users_tenant_pk_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_service_users")),
        sa.UniqueConstraint("service_user_key", name=op.f("uq_service_users_service_user_key")),
    )
    with op.batch_alter_table("service_users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_service_users_department_pk"), ["department_pk"], unique=False)
        batch_op.create_index(
            "ix_service_users_group_pk_kind_key", ["group_pk", "kind", "service_user_key"], unique=False
        )
        batch_op.create_index(
            "ix_service_users_tenant_pk_extension", ["tenant_pk", "extension"], unique=False
        )

    op.create_table(
        "users",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("tenant_pk", sa.Integer(), nullable=False),
        sa.Column("group_pk", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=80), nullable=False),
        sa.Column(
            "user_key",
            sa.String(length=80).with_variant(sa.String(length=80, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("last_name", sa.String(length=80), nullable=False),
        sa.Column("first_name", sa.String(length=80), nullable=False),
        sa.Column("cli_last_name", sa.String(length=80), nullable=False),
        sa.Column("cli_first_name", sa.String(length=80), nullable=False),
        sa.Column("phone_number", sa.String(length=30), nullable=False),
        sa.Column("extension", sa.String(length=20), nullable=False),
        sa.Column("cli_phone_number", sa.String(length=30), nullable=False),
        sa.Column("department_pk", sa.Integer(), nullable=True),
        sa.Column("language", sa.String(length=40), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=80), nullable=False),
        sa.Column("pager_phone_number", sa.String(length=30), nullable=False),
        sa.Column("mobile_phone_number", sa.String(length=30), nullable=False),
        sa.Column("email_address", sa.String(length=80), nullable=False),
        sa.Column("yahoo_id", sa.String(length=80), nullable=False),
        sa.Column("address_location", sa.String(length=80), nullable=False),
        sa.Column("address", sa.JSON(), nullable=False),
        sa.Column("network_class_of_service", sa.String(length=80), nullable=False),
        sa.Column("devices", sa.JSON(), nullable=False),
        sa.Column("trunk_addressing", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_pk"],
            ["departments.pk"],
            name=op.f("fk_users_department_pk_departments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["group_pk"], ["groups.pk"], name=op.f("fk_users_group_pk_groups"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_pk"], ["tenants.pk"], name=op.f("fk_users_tenant_pk_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_users")),
        sa.UniqueConstraint("user_key", name=op.f("uq_users_user_key")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_users_department_pk"), ["department_pk"], unique=False)
        batch_op.create_index("ix_users_group_pk_user_key", ["group_pk", "user_key"], unique=False)
        batch_op.create_index("ix_users_tenant_pk_extension", ["tenant_pk", "extension"], unique=False)

    op.create_table(
        "accounts",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column(
            "username_key",
            sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("display_name", sa.String(length=80), nullable=False),
        sa.Column("email", sa.String(length=80), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("tenant_pk", sa.Integer(), nullable=True),
        sa.Column("group_pk", sa.Integer(), nullable=True),
        sa.Column("user_pk", sa.Integer(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "role IN ('system', 'tenant_admin', 'group_admin', 'user')", name=op.f("ck_accounts_role")
        ),
        sa.ForeignKeyConstraint(
            ["group_pk"], ["groups.pk"], name=op.f("fk_accounts_group_pk_groups"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_pk"], ["tenants.pk"], name=op.f("fk_accounts_tenant_pk_tenants"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_pk"], ["users.pk"], name=op.f("fk_accounts_user_pk_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_accounts")),
        sa.UniqueConstraint("username_key", name=op.f("uq_accounts_username_key")),
    )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_accounts_group_pk"), ["group_pk"], unique=False)
        batch_op.create_index(batch_op.f("ix_accounts_tenant_pk"), ["tenant_pk"], unique=False)
        batch_op.create_index(batch_op.f("ix_accounts_user_pk"), ["user_pk"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_accounts_user_pk"))
        batch_op.drop_index(batch_op.f("ix_accounts_tenant_pk"))
        batch_op.drop_index(batch_op.f("ix_accounts_group_pk"))

    op.drop_table("accounts")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("ix_users_tenant_pk_extension")
        batch_op.drop_index("ix_users_group_pk_user_key")
        batch_op.drop_index(batch_op.f("ix_users_department_pk"))

    op.drop_table("users")
    with op.batch_alter_table("service_users", schema=None) as batch_op:
        batch_op.drop_index("ix_service_users_tenant_pk_extension")
        batch_op.drop_index("ix_service_users_group_pk_kind_key")
        batch_op.drop_index(batch_op.f("ix_service_users_department_pk"))

    op.drop_table("service_users")
    with op.batch_alter_table("departments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_departments_parent_pk"))

    op.drop_table("departments")
    op.drop_table("groups")
    with op.batch_alter_table("domains", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_domains_tenant_pk"))

    op.drop_table("domains")
    op.drop_table("tenants")
    op.drop_table("system_settings")
