"""customer accounts: contacts per licence (R35)

Revision ID: 0013
Revises: 0015
Create Date: 2026-12-02 14:10:00.000000

The login links mailed to a customer are ``address_link`` rows (purpose ``login``);
``licence_contact`` holds the billing and technical contacts who
see a licence beside its licensee. (Revises 0015, the imports' migration, which already
followed 0012: one head.)
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = "0013"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "licence_contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("licence_id", sa.Integer(), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["licence_id"], ["licence.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("licence_id", "email", name="uq_licence_contact"),
    )
    op.create_index("ix_licence_contact_licence_id", "licence_contact", ["licence_id"])
    op.create_index("ix_licence_contact_email", "licence_contact", ["email"])


def downgrade() -> None:
    op.drop_index("ix_licence_contact_email", table_name="licence_contact")
    op.drop_index("ix_licence_contact_licence_id", table_name="licence_contact")
    op.drop_table("licence_contact")
