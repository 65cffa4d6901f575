"""Several bot processes on one database: game leases, cross-process /stop, a summary due until
posted, shared rate limits and update de-duplication.

Revision ID: 0007
Revises: 0006
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

Stamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("games") as batch:
        batch.add_column(sa.Column("owner", sa.String(length=96), nullable=True))
        batch.add_column(sa.Column("lease_until", Stamp, nullable=True))
        batch.add_column(sa.Column("stop_requested", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column("summary_due", sa.JSON(), nullable=True))
        batch.create_index(batch.f("ix_games_owner"), ["owner"])
    op.create_table(
        "rate_limit_hits",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("hits", sa.Text(), nullable=False),
        sa.Column("touched_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "key", name=op.f("pk_rate_limit_hits")),
    )
    op.create_index(op.f("ix_rate_limit_hits_touched_at"), "rate_limit_hits", ["touched_at"])
    op.create_table(
        "seen_updates",
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("update_id", sa.String(length=64), nullable=False),
        sa.Column("seen_at", Stamp, nullable=False),
        sa.Column("done", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("platform", "update_id", name=op.f("pk_seen_updates")),
    )
    op.create_index(op.f("ix_seen_updates_seen_at"), "seen_updates", ["seen_at"])


def downgrade() -> None:
    op.drop_table("seen_updates")
    op.drop_table("rate_limit_hits")
    with op.batch_alter_table("games") as batch:
        batch.drop_index(batch.f("ix_games_owner"))
        batch.drop_column("summary_due")
        batch.drop_column("stop_requested")
        batch.drop_column("lease_until")
        batch.drop_column("owner")
