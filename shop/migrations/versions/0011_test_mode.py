"""test mode kept in the database

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 02:50:00.000000

`shop serve --test-payments` records here the plugin settings that point at its fake
providers and where they listen, so every `shop` process of the database (a `shop jobs
run` in another terminal) is in the same test mode (shop.payments.testmode).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('test_mode',
    sa.Column('plugin_values', sa.JSON(), nullable=False),
    sa.Column('listening', sa.JSON(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('since', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )


def downgrade() -> None:
    op.drop_table('test_mode')
