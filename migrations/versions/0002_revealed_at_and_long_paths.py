"""rounds.revealed_at: a closed round whose reveal never reached the chat is revealed at restart;
real_photos paths and identities as unbounded text (PostgreSQL enforces VARCHAR lengths)

Revision ID: 0002
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rounds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revealed_at", sa.DateTime(timezone=True), nullable=True))
    # Rounds closed before this column existed were revealed then (or never will be).
    op.execute("UPDATE rounds SET revealed_at = closed_at WHERE closed_at IS NOT NULL")
    with op.batch_alter_table("real_photos", schema=None) as batch_op:
        for column, length in (("source_path", 1024), ("stored_path", 1024), ("identity", 128)):
            batch_op.alter_column(column, type_=sa.Text(), existing_type=sa.String(length))


def downgrade() -> None:
    with op.batch_alter_table("real_photos", schema=None) as batch_op:
        for column, length in (("source_path", 1024), ("stored_path", 1024), ("identity", 128)):
            batch_op.alter_column(column, type_=sa.String(length), existing_type=sa.Text())
    with op.batch_alter_table("rounds", schema=None) as batch_op:
        batch_op.drop_column("revealed_at")
