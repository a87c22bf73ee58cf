"""lifecycle events: the outbox of what happened (shop_event)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 03:00:00.000000

Each lifecycle event (order paid, licence issued, subscription renewed, ...) is stored in
the transaction of the change it reports, so none is lost or invented by a rollback;
``seq`` orders them as stored, ``id`` is the stable id integrations see.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'shop_event',
        sa.Column('seq', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column('created', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.UniqueConstraint('id', name='uq_shop_event_id'),
    )
    op.create_index('ix_shop_event_type', 'shop_event', ['type'])


def downgrade() -> None:
    op.drop_index('ix_shop_event_type', table_name='shop_event')
    op.drop_table('shop_event')
