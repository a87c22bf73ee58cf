"""imports, tokens with a life span, one-time links sent to an address

Revision ID: 0015
Revises: 0012
Create Date: 2026-12-02 14:00:00.000000

An imported subscription keeps its billing party (it has no order to take it from);
operator tokens get an expiry, a last use and a revocation; ``address_link`` holds the
links mailed to an address (a trial's confirmation, the release of an address held by
someone else's unpaid order), stored as hashes, each valid once and for a while.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = "0015"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("subscription") as table:
        table.add_column(
            sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True)
        )
        table.add_column(
            sa.Column("organisation", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True)
        )
    with op.batch_alter_table("api_token") as table:
        table.add_column(
            sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        table.add_column(
            sa.Column("last_used_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        table.add_column(
            sa.Column("revoked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
    op.create_table(
        "address_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.Column("sku", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("account", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
        sa.Column("locale", sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("used_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_address_link_email", "address_link", ["email"])


def downgrade() -> None:
    op.drop_index("ix_address_link_email", table_name="address_link")
    op.drop_table("address_link")
    with op.batch_alter_table("api_token") as table:
        table.drop_column("revoked_at")
        table.drop_column("last_used_at")
        table.drop_column("expires_at")
    with op.batch_alter_table("subscription") as table:
        table.drop_column("organisation")
        table.drop_column("name")
