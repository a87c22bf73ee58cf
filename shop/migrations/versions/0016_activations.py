"""licence activations and their audit trail

Revision ID: 0016
Revises: 0020
Create Date: 2026-12-02 18:10:00.000000

``activation`` holds the instances of the vendor's software that use a licence (issue 14),
one live row per licence and fingerprint (a partial unique index); ``activation_event``
records who activated, checked in or deactivated them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = "0016"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "activation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("licence_id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("activated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("last_check_in_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("deactivated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("deactivated_by", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.ForeignKeyConstraint(["licence_id"], ["licence.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_activation_licence_id", "activation", ["licence_id"])
    op.create_index(
        "ux_activation_live_fingerprint",
        "activation",
        ["licence_id", "fingerprint"],
        unique=True,
        postgresql_where=sa.text("deactivated_at IS NULL"),
        sqlite_where=sa.text("deactivated_at IS NULL"),
    )
    op.create_table(
        "activation_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("activation_id", sa.Integer(), nullable=False),
        sa.Column("licence_id", sa.Integer(), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("actor_name", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
        sa.Column("detail", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.ForeignKeyConstraint(["activation_id"], ["activation.id"]),
        sa.ForeignKeyConstraint(["licence_id"], ["licence.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_activation_event_activation_id", "activation_event", ["activation_id"])
    op.create_index("ix_activation_event_licence_id", "activation_event", ["licence_id"])


def downgrade() -> None:
    op.drop_index("ix_activation_event_licence_id", table_name="activation_event")
    op.drop_index("ix_activation_event_activation_id", table_name="activation_event")
    op.drop_table("activation_event")
    op.drop_index("ux_activation_live_fingerprint", table_name="activation")
    op.drop_index("ix_activation_licence_id", table_name="activation")
    op.drop_table("activation")
