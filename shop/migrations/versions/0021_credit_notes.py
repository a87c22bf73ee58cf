"""credit notes (GoBD): corrections of issued invoices, their own gapless series

Revision ID: 0021
Revises: 0019
Create Date: 2026-12-03 10:40:00.000000

``credit_note`` holds every credit note with its number from the ``credit_note`` counter
row (R8), the invoice (order) it corrects, the amount credited and how long it is kept.
Invoices cancelled or expired before credit notes existed get theirs now, in the order of
their invoice numbers, dated when they were closed.
"""

from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
import sqlmodel
from alembic import op

from shop.db import ExactDecimal

revision: str = "0021"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "credit_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("issued_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("amount", ExactDecimal(), nullable=False),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("retained_until", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["shop_order.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
    )
    op.create_index("ix_credit_note_order_id", "credit_note", ["order_id"])
    connection = op.get_bind()
    orders = sa.table(
        "shop_order",
        sa.column("id", sa.Integer),
        sa.column("invoice_number", sa.Integer),
        sa.column("status", sa.String),
        sa.column("total", ExactDecimal()),
        sa.column("currency", sa.String),
        sa.column("created_at", sqlmodel.sql.sqltypes.UTCDateTime()),
        sa.column("closed_at", sqlmodel.sql.sqltypes.UTCDateTime()),
    )
    closed = connection.execute(
        sa.select(
            orders.c.id,
            orders.c.status,
            orders.c.total,
            orders.c.currency,
            orders.c.created_at,
            orders.c.closed_at,
        )
        .where(
            orders.c.invoice_number.is_not(None),
            orders.c.status.in_(["cancelled", "expired"]),
        )
        .order_by(orders.c.invoice_number)
    ).all()
    notes = sa.table(
        "credit_note",
        sa.column("number", sa.Integer),
        sa.column("order_id", sa.Integer),
        sa.column("issued_at", sqlmodel.sql.sqltypes.UTCDateTime()),
        sa.column("amount", ExactDecimal()),
        sa.column("currency", sa.String),
        sa.column("reason", sa.String),
        sa.column("retained_until", sa.Date),
    )
    rows = []
    for number, (order_id, status, total, currency, created, closed_at) in enumerate(closed, 1):
        issued = closed_at or created
        rows.append(
            {
                "number": number,
                "order_id": order_id,
                "issued_at": issued,
                "amount": total,
                "currency": currency,
                "reason": "order_expired" if status == "expired" else "order_cancelled",
                "retained_until": date(issued.year + 8, 12, 31),  # §147 AO, the longer period
            }
        )
    if rows:
        op.bulk_insert(notes, rows)
    op.execute(
        sa.text("INSERT INTO number_sequence (name, last) VALUES ('credit_note', :last)").bindparams(
            last=len(rows)
        )
    )


def downgrade() -> None:
    op.execute("DELETE FROM number_sequence WHERE name = 'credit_note'")
    op.drop_index("ix_credit_note_order_id", table_name="credit_note")
    op.drop_table("credit_note")
