"""follow-up orders record what they price: their basis

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 23:00:00.000000

An order that follows another (setup fee, renewal, maintenance renewal, tier upgrade,
agreement invoice) keeps the state it was priced from: the subscription or licence, the
term, the items, the maintenance end. Fulfilment applies it only while that is current.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('shop_order') as batch:
        batch.add_column(sa.Column('basis', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('shop_order') as batch:
        batch.drop_column('basis')
