"""The hall of fakes: face_fools keeps, per generated face and period (all time, ISO week), the
revealed answers on it and how many said 'real'. Filled from the rounds revealed so far.
games.hard marks a hard game, whose fake rounds may show faces from the hall.

Revision ID: 0004
Revises: 0003
"""
from __future__ import annotations

import math
from collections import Counter
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

Stamp = sa.DateTime(timezone=True)
rounds = sa.table("rounds", sa.column("id", sa.Integer), sa.column("is_real", sa.Boolean),
                  sa.column("generated_face_id", sa.Integer), sa.column("revealed_at", Stamp))
answers = sa.table("answers", sa.column("id", sa.Integer), sa.column("round_id", sa.Integer),
                   sa.column("guess_real", sa.Boolean))
face_fools = sa.table("face_fools", sa.column("generated_face_id", sa.Integer), sa.column("period", sa.String),
                      sa.column("answers", sa.Integer), sa.column("fooled", sa.Integer),
                      sa.column("wilson", sa.Float))


def upgrade() -> None:
    op.create_table(
        "face_fools",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("generated_face_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("answers", sa.Integer(), nullable=False),
        sa.Column("fooled", sa.Integer(), nullable=False),
        sa.Column("wilson", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["generated_face_id"], ["generated_faces.id"],
                                name=op.f("fk_face_fools_generated_face_id_generated_faces"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_face_fools")),
        sa.UniqueConstraint("generated_face_id", "period", name=op.f("uq_face_fools_generated_face_id")),
    )
    op.create_index("ix_face_fools_hall", "face_fools", ["period", "wilson"], unique=False)
    op.add_column("games", sa.Column("hard", sa.Boolean(), server_default=sa.false(), nullable=False))
    _backfill()


def downgrade() -> None:
    with op.batch_alter_table("games") as batch:  # SQLite drops a column by copying the table
        batch.drop_column("hard")
    op.drop_index("ix_face_fools_hall", table_name="face_fools")
    op.drop_table("face_fools")


def _backfill() -> None:
    """Count the answers of every revealed generated round, in its reveal's week and all time."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(rounds.c.generated_face_id, rounds.c.revealed_at, answers.c.guess_real)
        .join(answers, answers.c.round_id == rounds.c.id)
        .where(sa.not_(rounds.c.is_real), rounds.c.revealed_at.is_not(None),
               rounds.c.generated_face_id.is_not(None))).all()
    total: Counter[tuple[int, str]] = Counter()
    fooled: Counter[tuple[int, str]] = Counter()
    for face_id, revealed_at, said_real in rows:
        for period in ("all", _week(revealed_at)):
            total[(face_id, period)] += 1
            fooled[(face_id, period)] += int(bool(said_real))
    if total:
        bind.execute(sa.insert(face_fools), [
            dict(generated_face_id=face_id, period=period, answers=n, fooled=fooled[(face_id, period)],
                 wilson=_wilson_lower(fooled[(face_id, period)], n))
            for (face_id, period), n in total.items()])


def _week(when: datetime | str) -> str:
    if isinstance(when, str):  # SQLite hands back text
        when = datetime.fromisoformat(when)
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    year, week, _ = when.astimezone(timezone.utc).isocalendar()
    return f"{year}-W{week:02d}"


def _wilson_lower(successes: int, total: int, z: float = 1.959963984540054) -> float:
    if total <= 0:
        return 0.0
    p = successes / total
    centre = p + z * z / (2 * total)
    margin = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total))
    return max(0.0, (centre - margin) / (1 + z * z / total))
