"""partial indexes the job walks; renewal orders record their invoice mail

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 20:45:00.000000

`shop jobs run` claims its batches by walking partial indexes in their own order, so a
batch costs the same however many came before it: renewing subscriptions by (term_end,
id), on-hold ones by (on_hold_since, id), and unpaid renewal orders whose invoice mail is
not queued yet by id. ``shop_order.invoiced_at`` says when that mail was queued; orders
invoiced before this revision get the time of their mail.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RENEWING = "status IN ('active', 'pending-cancel')"
ON_HOLD = "status = 'on-hold'"
TO_INVOICE = "kind = 'renewal' AND status = 'pending' AND invoiced_at IS NULL"
INVOICE_MAIL = (
    "FROM outbox_message WHERE outbox_message.kind = 'renewal_due' "
    "AND outbox_message.order_number = CAST(shop_order.number AS VARCHAR)"
)


def upgrade() -> None:
    with op.batch_alter_table('shop_order', schema=None) as batch_op:
        batch_op.add_column(sa.Column('invoiced_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.execute(
        f"UPDATE shop_order SET invoiced_at = (SELECT MIN(outbox_message.created_at) {INVOICE_MAIL}) "
        f"WHERE kind = 'renewal' AND EXISTS (SELECT 1 {INVOICE_MAIL})"
    )
    op.create_index(
        'ix_shop_order_to_invoice', 'shop_order', ['id'], unique=False,
        postgresql_where=sa.text(TO_INVOICE), sqlite_where=sa.text(TO_INVOICE),
    )
    op.create_index(
        'ix_subscription_renewing', 'subscription', ['term_end', 'id'], unique=False,
        postgresql_where=sa.text(RENEWING), sqlite_where=sa.text(RENEWING),
    )
    op.create_index(
        'ix_subscription_on_hold', 'subscription', ['on_hold_since', 'id'], unique=False,
        postgresql_where=sa.text(ON_HOLD), sqlite_where=sa.text(ON_HOLD),
    )


def downgrade() -> None:
    op.drop_index('ix_subscription_on_hold', table_name='subscription')
    op.drop_index('ix_subscription_renewing', table_name='subscription')
    op.drop_index('ix_shop_order_to_invoice', table_name='shop_order')
    with op.batch_alter_table('shop_order', schema=None) as batch_op:
        batch_op.drop_column('invoiced_at')
