"""discounts: promotions and academic customers

Revision ID: discounts_0001
Revises:
Create Date: 2026-12-02 03:00:00.000000

The discounts plugin's own tables (R28, R29), on its own version table
(alembic_version_discounts).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString, UTCDateTime

import shop.db

revision: str = "discounts_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "discounts_promotion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("percent", shop.db.ExactDecimal(), nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("ends_at", UTCDateTime(), nullable=False),
        sa.Column("first_term_only", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_discounts_promotion_starts_at", "discounts_promotion", ["starts_at"], unique=False
    )
    op.create_index(
        "ix_discounts_promotion_ends_at", "discounts_promotion", ["ends_at"], unique=False
    )
    op.create_table(
        "discounts_academic_customer",
        sa.Column("email", AutoString(length=320), nullable=False),
        sa.Column("academic", sa.Boolean(), nullable=False),
        sa.Column("set_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("email"),
    )


def downgrade() -> None:
    op.drop_table("discounts_academic_customer")
    op.drop_index("ix_discounts_promotion_ends_at", table_name="discounts_promotion")
    op.drop_index("ix_discounts_promotion_starts_at", table_name="discounts_promotion")
    op.drop_table("discounts_promotion")
