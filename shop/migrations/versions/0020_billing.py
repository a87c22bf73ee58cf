"""billing address and the buyer's statements at checkout

Revision ID: 0020
Revises: 0014
Create Date: 2026-12-02 18:40:00.000000

``shop_order`` gets the billing address (street, postcode, city, region; §14 UStG);
``order_consent`` keeps what a consumer declared at checkout, in the words shown and when
(§356(5) BGB).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = "0020"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TEXT = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    with op.batch_alter_table("shop_order") as table:
        table.add_column(sa.Column("street", TEXT(length=200), nullable=True))
        table.add_column(sa.Column("postcode", TEXT(length=20), nullable=True))
        table.add_column(sa.Column("city", TEXT(length=100), nullable=True))
        table.add_column(sa.Column("region", TEXT(length=100), nullable=True))
    op.create_table(
        "order_consent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("kind", TEXT(length=32), nullable=False),
        sa.Column("text", TEXT(length=1000), nullable=False),
        sa.Column("locale", TEXT(length=5), nullable=False),
        sa.Column("given_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["shop_order.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_order_consent_order_id", "order_consent", ["order_id"])


def downgrade() -> None:
    op.drop_index("ix_order_consent_order_id", table_name="order_consent")
    op.drop_table("order_consent")
    with op.batch_alter_table("shop_order") as table:
        for column in ("region", "city", "postcode", "street"):
            table.drop_column(column)
