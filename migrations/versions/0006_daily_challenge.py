"""The daily challenge: each day's rounds, and each player's one try.

Revision ID: 0006
Revises: 0005
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

Stamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "daily_challenges",
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_daily_challenges")),
    )
    op.create_table(
        "daily_plays",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("player_id", sa.Integer(), nullable=False),
        sa.Column("next_number", sa.Integer(), nullable=False),
        sa.Column("correct", sa.Integer(), nullable=False),
        sa.Column("marks", sa.String(length=32), nullable=False),
        sa.Column("started_at", Stamp, nullable=False),
        sa.Column("finished_at", Stamp, nullable=True),
        sa.ForeignKeyConstraint(["day"], ["daily_challenges.day"], name=op.f("fk_daily_plays_day_daily_challenges"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["player_id"], ["players.id"], name=op.f("fk_daily_plays_player_id_players"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_daily_plays")),
        sa.UniqueConstraint("day", "player_id", name=op.f("uq_daily_plays_day")),
    )
    op.create_index("ix_daily_plays_board", "daily_plays", ["day", "correct"])
    op.create_index(op.f("ix_daily_plays_player_id"), "daily_plays", ["player_id"])


def downgrade() -> None:
    op.drop_table("daily_plays")
    op.drop_table("daily_challenges")
