"""orders the operator must look at: why, and since when

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 23:00:00.000000

An order can take money the shop cannot apply (paid after it was superseded, closed or
stale, paid twice, overpaid). The money is kept on record and the order is flagged:
``needs_action`` is a stable code saying why, ``needs_action_since`` when it was flagged.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('shop_order') as batch:
        batch.add_column(sa.Column('needs_action', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('needs_action_since', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.create_index(
        'ix_shop_order_needs_action',
        'shop_order',
        ['needs_action_since'],
        postgresql_where=sa.text('needs_action IS NOT NULL'),
        sqlite_where=sa.text('needs_action IS NOT NULL'),
    )


def downgrade() -> None:
    op.drop_index('ix_shop_order_needs_action', table_name='shop_order')
    with op.batch_alter_table('shop_order') as batch:
        batch.drop_column('needs_action_since')
        batch.drop_column('needs_action')
