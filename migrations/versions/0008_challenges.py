"""Challenges anywhere: rounds.message_ref as unbounded text.

A challenge's message on Discord is the response of a user-installed /challenge, edited later
through the interaction's token, so its reference holds that token, whose length Discord does not
bound (PostgreSQL enforces VARCHAR lengths). Challenges themselves are ordinary one-round games
(db/challenges.py): no new table.

Revision ID: 0008_challenges
Revises: 0007
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_challenges"
down_revision = "0007"
branch_labels = None
depends_on = None

OLD_LENGTH = 256


def upgrade() -> None:
    with op.batch_alter_table("rounds", schema=None) as batch_op:
        batch_op.alter_column("message_ref", type_=sa.Text(), existing_type=sa.String(OLD_LENGTH),
                              existing_nullable=True)


def downgrade() -> None:
    # A reference that no longer fits is refused, never cut: a cut token could not reveal its round.
    longer = op.get_bind().execute(sa.text(
        f"SELECT count(*) FROM rounds WHERE length(message_ref) > {OLD_LENGTH}")).scalar_one()
    if longer:
        raise RuntimeError(f"{longer} rounds hold message references longer than {OLD_LENGTH} characters "
                           "(open Discord challenges): wait until they are revealed, then downgrade")
    with op.batch_alter_table("rounds", schema=None) as batch_op:
        batch_op.alter_column("message_ref", type_=sa.String(OLD_LENGTH), existing_type=sa.Text(),
                              existing_nullable=True)
