"""recordings: a "failed" state (the PBX wrote no file)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 16:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _state_check(states: str) -> None:
    # Batch mode: SQLite cannot alter a CHECK constraint in place (the table is copied).
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_recordings_state"), type_="check")
        batch_op.create_check_constraint(op.f("ck_recordings_state"), f"state IN ({states})")


def upgrade() -> None:
    _state_check("'recording', 'paused', 'stopped', 'failed'")


def downgrade() -> None:
    op.execute("UPDATE recordings SET state = 'stopped' WHERE state = 'failed'")
    _state_check("'recording', 'paused', 'stopped'")
