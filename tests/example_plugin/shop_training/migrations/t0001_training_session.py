"""training: the dates courses run on

Revision ID: training_0001
Revises:
Create Date: 2026-12-02 03:00:00.000000

The plugin's own history (version table ``alembic_version_training``), so installing or
removing it never touches the core's revisions.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "training_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "training_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("place", sa.String(length=100), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_training_session_sku", "training_session", ["sku"])


def downgrade() -> None:
    op.drop_index("ix_training_session_sku", table_name="training_session")
    op.drop_table("training_session")
