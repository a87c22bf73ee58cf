"""money arriving: one provider payment per order, crash-safe renewal charges, card details

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 23:30:00.000000

``shop_order.provider_payment`` keeps the card PaymentIntent or PayPal order opened for an
order, so every visit reuses it (provider idempotency keys last 24 hours only), and
``provider_payment_closed_at`` when it was cancelled once the order closed. A renewal
charge records its idempotency key and outcome (``charge_key``, ``charge_outcome``): an
attempt without an outcome is reconciled with the provider before anything is invoiced.
``payment.detail`` is what the provider reports about the card (brand, last 4 digits), and
``order_note`` what an operator wrote when clearing an order's flag.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHARGE_UNSETTLED = "charge_attempted_at IS NOT NULL AND charge_outcome IS NULL"
PROVIDER_PAYMENT_OPEN = (
    "status IN ('cancelled', 'expired') "
    "AND provider_payment IS NOT NULL AND provider_payment_closed_at IS NULL"
)


def upgrade() -> None:
    with op.batch_alter_table('shop_order') as batch:
        batch.add_column(sa.Column('charge_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        batch.add_column(sa.Column('charge_outcome', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch.add_column(sa.Column('provider_payment', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        batch.add_column(
            sa.Column('provider_payment_closed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
    # Charges attempted before this revision whose renewal was since paid, closed or
    # invoiced are history; the others (claimed, never settled: what this revision repairs)
    # are left for the next `shop jobs run` to reconcile with the provider.
    op.execute(
        "UPDATE shop_order SET charge_outcome = 'legacy' WHERE charge_attempted_at IS NOT NULL "
        "AND (status <> 'pending' OR invoiced_at IS NOT NULL)"
    )
    op.create_index(
        'ix_shop_order_charge_unsettled',
        'shop_order',
        ['id'],
        postgresql_where=sa.text(CHARGE_UNSETTLED),
        sqlite_where=sa.text(CHARGE_UNSETTLED),
    )
    op.create_index(
        'ix_shop_order_provider_payment_open',
        'shop_order',
        ['id'],
        postgresql_where=sa.text(PROVIDER_PAYMENT_OPEN),
        sqlite_where=sa.text(PROVIDER_PAYMENT_OPEN),
    )
    with op.batch_alter_table('payment') as batch:
        batch.add_column(sa.Column('detail', sa.JSON(), nullable=True))
    op.create_table(
        'order_note',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=False),
        sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column('text', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column('author', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['order_id'], ['shop_order.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_order_note_order_id', 'order_note', ['order_id'])


def downgrade() -> None:
    op.drop_index('ix_order_note_order_id', table_name='order_note')
    op.drop_table('order_note')
    with op.batch_alter_table('payment') as batch:
        batch.drop_column('detail')
    op.drop_index('ix_shop_order_provider_payment_open', table_name='shop_order')
    op.drop_index('ix_shop_order_charge_unsettled', table_name='shop_order')
    with op.batch_alter_table('shop_order') as batch:
        batch.drop_column('provider_payment_closed_at')
        batch.drop_column('provider_payment')
        batch.drop_column('charge_outcome')
        batch.drop_column('charge_key')
