"""separate gapless series for quotes and invoices; the operator's review of co-terming

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 23:00:00.000000

Quotes and invoices were numbered from the order counter, so the invoices had a hole
wherever a quote expired (R8). Each document now has its own counter row; ``number``
stays the order's own number. Existing orders are numbered in the order of ``number``:
a quote number for every order saved as a quote, an invoice number for every order that
was to be paid (placed to pay, a quote paid in part or in full). A co-terming quote
records the licence it asks to align with and the operator's decision (R27).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WAS_QUOTE = "(valid_until IS NOT NULL OR status = 'quote')"
INVOICED = (
    "(status IN ('pending', 'paid') OR (status IN ('expired', 'cancelled') "
    f"AND (NOT {WAS_QUOTE} OR paid_amount > 0)))"
)


def _number(column: str, where: str) -> None:
    """``column`` = 1, 2, 3… over the orders matching ``where``, in order-number order."""
    op.execute(
        f"UPDATE shop_order SET {column} = (SELECT ranked.n FROM (SELECT id, ROW_NUMBER() "
        f"OVER (ORDER BY number) AS n FROM shop_order WHERE {where}) AS ranked "
        f"WHERE ranked.id = shop_order.id) WHERE {where}"
    )


def upgrade() -> None:
    with op.batch_alter_table('shop_order') as batch:
        batch.add_column(sa.Column('quote_number', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('invoice_number', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('invoice_issued_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column('coterm_with', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('reviewed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column('reviewed_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True))
    _number('quote_number', WAS_QUOTE)
    _number('invoice_number', INVOICED)
    op.execute(f"UPDATE shop_order SET invoice_issued_at = created_at WHERE {INVOICED}")
    with op.batch_alter_table('shop_order') as batch:
        batch.create_unique_constraint('uq_shop_order_quote_number', ['quote_number'])
        batch.create_unique_constraint('uq_shop_order_invoice_number', ['invoice_number'])
    op.execute(
        "INSERT INTO number_sequence (name, last) "
        f"SELECT 'quote', COUNT(*) FROM shop_order WHERE {WAS_QUOTE}"
    )
    op.execute(
        "INSERT INTO number_sequence (name, last) "
        f"SELECT 'invoice', COUNT(*) FROM shop_order WHERE {INVOICED}"
    )


def downgrade() -> None:
    op.execute("DELETE FROM number_sequence WHERE name IN ('quote', 'invoice')")
    with op.batch_alter_table('shop_order') as batch:
        batch.drop_constraint('uq_shop_order_invoice_number', type_='unique')
        batch.drop_constraint('uq_shop_order_quote_number', type_='unique')
        batch.drop_column('reviewed_by')
        batch.drop_column('reviewed_at')
        batch.drop_column('coterm_with')
        batch.drop_column('invoice_issued_at')
        batch.drop_column('invoice_number')
        batch.drop_column('quote_number')
