"""outbox: a mail may link one of the order's credit notes

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 11:20:00.000000

A credit note's mail names the credit note by its number (``document_number``, with
``document_kind`` "credit_note"); the PDF is rendered when the mail is sent, as for the
quote and invoice.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("document_number", sa.Integer(), nullable=True))


def downgrade() -> None:
    # Credit-note mails still waiting then go without their PDF (the kind is unknown).
    op.execute("UPDATE outbox_message SET document_kind = NULL WHERE document_kind = 'credit_note'")
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_column("document_number")
