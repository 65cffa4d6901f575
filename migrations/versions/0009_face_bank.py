"""The face bank: the most convincing faces made in idle time, kept as seeds and scores.

Revision ID: 0009_face_bank
Revises: 0008_challenges
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_face_bank"
down_revision = "0008_challenges"
branch_labels = None
depends_on = None

Stamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "face_bank",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_version", sa.String(length=200), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("psi", sa.Float(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("shown", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("last_shown_at", Stamp, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_face_bank")),
        sa.UniqueConstraint("model_version", "seed", "psi", "mode", name="uq_face_bank_recipe"),
    )
    op.create_index("ix_face_bank_draw", "face_bank", ["model_version", "psi", "shown", "score"])


def downgrade() -> None:
    # The bank is a cache of recipes (seeds and scores), remade by its filler: nothing a player made.
    op.drop_index("ix_face_bank_draw", table_name="face_bank")
    op.drop_table("face_bank")
