"""cancellation and withdrawal declarations (§312k, §356a BGB)

Revision ID: 0019
Revises: 0016
Create Date: 2026-12-02 18:30:00.000000

``cancellation_request`` keeps every declaration made through the cancel button and the
withdrawal button: what was typed, when it arrived, the contract it identified (if any),
the outcome, and whether an operator still has to look at it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = "0019"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "cancellation_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", _text(16), nullable=False),
        sa.Column("locale", _text(5), nullable=False),
        sa.Column("name", _text(200), nullable=False),
        sa.Column("email", _text(320), nullable=False),
        sa.Column("reference", _text(200), nullable=True),
        sa.Column("contract", _text(32), nullable=True),
        sa.Column("mode", _text(16), nullable=True),
        sa.Column("reason", _text(2000), nullable=True),
        sa.Column("wanted_end", sa.Date(), nullable=True),
        sa.Column("receipt_email", _text(320), nullable=False),
        sa.Column("received_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=True),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("outcome", _text(32), nullable=False),
        sa.Column("needs_operator", sa.Boolean(), nullable=False),
        sa.Column("handled_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("handled_by", _text(100), nullable=True),
        sa.ForeignKeyConstraint(["subscription_id"], ["subscription.id"]),
        sa.ForeignKeyConstraint(["order_id"], ["shop_order.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_cancellation_request_kind", "cancellation_request", ["kind"])
    op.create_index(
        "ix_cancellation_request_needs_operator", "cancellation_request", ["needs_operator"]
    )


def downgrade() -> None:
    op.drop_index("ix_cancellation_request_needs_operator", "cancellation_request")
    op.drop_index("ix_cancellation_request_kind", "cancellation_request")
    op.drop_table("cancellation_request")
