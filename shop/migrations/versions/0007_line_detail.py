"""order lines explain themselves: a setup fee's period and fraction

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 23:10:00.000000

A setup-fee line (R19) stores what it stands for as data (what was added, the period, the
days left of the days in the term and the difference of the recurring totals), rendered in
the reader's language on the order page, the PDF and the e-mail. Other lines keep NULL.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('order_line') as batch:
        batch.add_column(sa.Column('detail', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('order_line') as batch:
        batch.drop_column('detail')
