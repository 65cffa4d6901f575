"""Game modes: a game's mode, and pair rounds (two faces, one real).

Scores need no new column: a mode's running totals live under their own scope names
(db.modes), so existing rows stay the single-image game's.

Revision ID: 0005
Revises: 0004
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("games") as batch:
        batch.add_column(sa.Column("mode", sa.String(length=16), server_default="single", nullable=False))
    with op.batch_alter_table("rounds") as batch:
        batch.add_column(sa.Column("pair", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    # Pair scores and rounds would read as single ones in the old schema: drop them.
    op.execute("DELETE FROM scores WHERE scope LIKE 'pairs:%'")
    # Children first: SQLite migrates with foreign keys off, so nothing cascades.
    op.execute("DELETE FROM answers WHERE round_id IN (SELECT r.id FROM rounds r JOIN games g "
               "ON g.id = r.game_id WHERE g.mode <> 'single')")
    op.execute("DELETE FROM rounds WHERE game_id IN (SELECT id FROM games WHERE mode <> 'single')")
    op.execute("DELETE FROM games WHERE mode <> 'single'")
    with op.batch_alter_table("rounds") as batch:
        batch.drop_column("pair")
    with op.batch_alter_table("games") as batch:
        batch.drop_column("mode")
