"""event log for every change, webhooks, deliveries, attempts

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 15:20:01.171573
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("tenant_pk", sa.Integer(), nullable=True),
        sa.Column("extension", sa.String(length=20), nullable=True),
        sa.Column("unique_id", sa.String(length=40), nullable=True),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_pk"], ["tenants.pk"], name=op.f("fk_events_tenant_pk_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_created_at", ["created_at"], unique=False)
        batch_op.create_index(
            "ix_events_pending",
            ["pk"],
            unique=False,
            sqlite_where=sa.text("seq IS NULL"),
            postgresql_where=sa.text("seq IS NULL"),
        )
        batch_op.create_index("ix_events_seq", ["seq"], unique=True)
        batch_op.create_index(
            "ix_events_tenant_pk_extension_seq", ["tenant_pk", "extension", "seq"], unique=False
        )

    op.create_table(
        "webhooks",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("tenant_pk", sa.Integer(), nullable=True),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("event_types", sa.JSON(), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_pk"], ["tenants.pk"], name=op.f("fk_webhooks_tenant_pk_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_webhooks")),
    )
    with op.batch_alter_table("webhooks", schema=None) as batch_op:
        batch_op.create_index("ix_webhooks_tenant_pk", ["tenant_pk"], unique=False)

    op.create_table(
        "webhook_deliveries",
        sa.Column("pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("webhook_pk", sa.Integer(), nullable=False),
        sa.Column("event_seq", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["webhook_pk"],
            ["webhooks.pk"],
            name=op.f("fk_webhook_deliveries_webhook_pk_webhooks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_webhook_deliveries")),
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_webhook_deliveries_created_at", ["created_at"], unique=False)
        batch_op.create_index(
            "ix_webhook_deliveries_status_next_attempt_at", ["status", "next_attempt_at"], unique=False
        )
        batch_op.create_index("ix_webhook_deliveries_webhook_pk_pk", ["webhook_pk", "pk"], unique=False)

    op.create_table(
        "webhook_attempts",
        sa.Column("pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("delivery_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("webhook_pk", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("error", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_pk"],
            ["webhook_deliveries.pk"],
            name=op.f("fk_webhook_attempts_delivery_pk_webhook_deliveries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["webhook_pk"],
            ["webhooks.pk"],
            name=op.f("fk_webhook_attempts_webhook_pk_webhooks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_webhook_attempts")),
    )
    with op.batch_alter_table("webhook_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_webhook_attempts_delivery_pk", ["delivery_pk"], unique=False)
        batch_op.create_index("ix_webhook_attempts_webhook_pk_pk", ["webhook_pk", "pk"], unique=False)

    # The call events written so far keep their numbers; the high-water mark continues after
    # them, and is never 0 (a subscriber's 0 means "I have seen nothing").
    op.execute(
        "INSERT INTO events (pk, seq, kind, tenant_pk, extension, unique_id, data, created_at) "
        "SELECT seq, seq, kind, tenant_pk, extension, unique_id, data, created_at FROM call_events"
    )
    op.execute(
        "INSERT INTO change_counters (channel, value) "
        "SELECT 'events', COALESCE(MAX(seq), 0) + 1 FROM call_events"
    )
    if op.get_bind().dialect.name == "postgresql":  # the identity continues past the copied keys
        op.execute(
            "SELECT setval(pg_get_serial_sequence('events', 'pk'), COALESCE(MAX(pk), 0) + 1, false) "
            "FROM events"
        )
    with op.batch_alter_table("call_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_events_tenant_pk_seq"))

    op.drop_table("call_events")


def downgrade() -> None:
    op.create_table(
        "call_events",
        sa.Column("seq", sa.INTEGER(), nullable=False),
        sa.Column("tenant_pk", sa.INTEGER(), nullable=True),
        sa.Column("unique_id", sa.VARCHAR(length=40), nullable=False),
        sa.Column("extension", sa.VARCHAR(length=20), nullable=False),
        sa.Column("kind", sa.VARCHAR(length=40), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_pk"], ["tenants.pk"], name=op.f("fk_call_events_tenant_pk_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_call_events")),
    )
    with op.batch_alter_table("call_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_call_events_tenant_pk_seq"), ["tenant_pk", "seq"], unique=False)

    op.execute(
        "INSERT INTO call_events (seq, tenant_pk, unique_id, extension, kind, data, created_at) "
        "SELECT seq, tenant_pk, unique_id, extension, kind, data, created_at FROM events "
        "WHERE seq IS NOT NULL AND unique_id IS NOT NULL AND extension IS NOT NULL"
    )
    op.execute("DELETE FROM change_counters WHERE channel = 'events'")
    with op.batch_alter_table("webhook_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_attempts_webhook_pk_pk")
        batch_op.drop_index("ix_webhook_attempts_delivery_pk")

    op.drop_table("webhook_attempts")
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_deliveries_webhook_pk_pk")
        batch_op.drop_index("ix_webhook_deliveries_status_next_attempt_at")
        batch_op.drop_index("ix_webhook_deliveries_created_at")

    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("webhooks", schema=None) as batch_op:
        batch_op.drop_index("ix_webhooks_tenant_pk")

    op.drop_table("webhooks")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_tenant_pk_extension_seq")
        batch_op.drop_index("ix_events_seq")
        batch_op.drop_index(
            "ix_events_pending", sqlite_where=sa.text("seq IS NULL"), postgresql_where=sa.text("seq IS NULL")
        )
        batch_op.drop_index("ix_events_created_at")

    op.drop_table("events")
