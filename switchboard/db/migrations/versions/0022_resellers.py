"""resellers: APIO's reseller level (tenants.reseller_pk, accounts.reseller_pk, role reseller_admin)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-08 22:00:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLES = "'system', 'tenant_admin', 'group_admin', 'user'"


def _add_reseller_pk(batch: Any, table: str, ondelete: str) -> None:
    batch.add_column(sa.Column("reseller_pk", sa.Integer(), nullable=True))
    batch.create_index(batch.f(f"ix_{table}_reseller_pk"), ["reseller_pk"], unique=False)
    batch.create_foreign_key(
        batch.f(f"fk_{table}_reseller_pk_resellers"), "resellers", ["reseller_pk"], ["pk"], ondelete=ondelete
    )


def _drop_reseller_pk(batch: Any, table: str) -> None:
    batch.drop_constraint(batch.f(f"fk_{table}_reseller_pk_resellers"), type_="foreignkey")
    batch.drop_index(batch.f(f"ix_{table}_reseller_pk"))
    batch.drop_column("reseller_pk")


def upgrade() -> None:
    op.create_table(
        "resellers",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column(
            "name_key",
            sa.String(length=80).with_variant(sa.String(length=80, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("external_name", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_resellers")),
        sa.UniqueConstraint("name_key", name=op.f("uq_resellers_name_key")),
    )
    with op.batch_alter_table("tenants") as batch:
        _add_reseller_pk(batch, "tenants", "SET NULL")
    # Batch mode: SQLite cannot alter a CHECK constraint in place (the table is copied).
    with op.batch_alter_table("accounts") as batch:
        _add_reseller_pk(batch, "accounts", "CASCADE")
        batch.drop_constraint(op.f("ck_accounts_role"), type_="check")
        batch.create_check_constraint(op.f("ck_accounts_role"), f"role IN ('reseller_admin', {ROLES})")


def downgrade() -> None:
    # Reseller admins have no place without resellers: they go with them.
    op.execute("DELETE FROM accounts WHERE role = 'reseller_admin'")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_constraint(op.f("ck_accounts_role"), type_="check")
        batch.create_check_constraint(op.f("ck_accounts_role"), f"role IN ({ROLES})")
        _drop_reseller_pk(batch, "accounts")
    with op.batch_alter_table("tenants") as batch:
        _drop_reseller_pk(batch, "tenants")
    op.drop_table("resellers")
