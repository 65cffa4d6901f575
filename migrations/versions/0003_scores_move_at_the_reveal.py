"""Scores move at the reveal: fool_counts keeps the fool rate's running counts, and answers of
rounds not yet revealed leave the running scores (the old code added them at the answer; the
reveal now adds them, so they would count twice).

Revision ID: 0003
Revises: 0002
"""
from __future__ import annotations

import math
from collections import Counter
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Stamp = sa.DateTime(timezone=True)
rounds = sa.table("rounds", sa.column("id", sa.Integer), sa.column("chat_id", sa.Integer),
                  sa.column("revealed_at", Stamp))
answers = sa.table("answers", sa.column("round_id", sa.Integer), sa.column("player_id", sa.Integer),
                   sa.column("correct", sa.Boolean), sa.column("answered_at", Stamp))
scores = sa.table("scores", sa.column("id", sa.Integer), sa.column("scope", sa.String), sa.column("period", sa.String),
                  sa.column("player_id", sa.Integer), sa.column("answers", sa.Integer),
                  sa.column("correct", sa.Integer), sa.column("wilson", sa.Float))


def upgrade() -> None:
    op.create_table(
        "fool_counts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("truncation", sa.Float(), nullable=False),
        sa.Column("answers", sa.Integer(), nullable=False),
        sa.Column("fooled", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fool_counts")),
        sa.UniqueConstraint("model_version", "truncation", name=op.f("uq_fool_counts_model_version")),
    )
    op.execute("""
        INSERT INTO fool_counts (model_version, truncation, answers, fooled)
        SELECT f.model_version, f.truncation, COUNT(a.id), SUM(CASE WHEN a.guess_real THEN 1 ELSE 0 END)
        FROM answers a JOIN rounds r ON r.id = a.round_id JOIN generated_faces f ON f.id = r.generated_face_id
        WHERE NOT r.is_real AND r.revealed_at IS NOT NULL
        GROUP BY f.model_version, f.truncation""")
    _shift_unrevealed_answers(-1)


def downgrade() -> None:
    _shift_unrevealed_answers(+1)  # the old code counts answers when they are given
    op.drop_table("fool_counts")


def _shift_unrevealed_answers(sign: int) -> None:
    """Add (sign=+1) or take out (-1) the answers of unrevealed rounds from the running scores.
    Streaks are left as they are: they cannot be rebuilt from totals."""
    bind = op.get_bind()
    pending = bind.execute(
        sa.select(answers.c.player_id, rounds.c.chat_id, answers.c.correct, answers.c.answered_at)
        .join(rounds, rounds.c.id == answers.c.round_id).where(rounds.c.revealed_at.is_(None))).all()
    change: Counter[tuple[str, str, int]] = Counter()
    right: Counter[tuple[str, str, int]] = Counter()
    for player_id, chat_id, correct, answered_at in pending:
        week = _week(answered_at)
        for scope in (f"chat:{chat_id}", "all"):
            for period in ("all", week):
                change[(scope, period, player_id)] += sign
                right[(scope, period, player_id)] += sign * int(bool(correct))
    for (scope, period, player_id), delta in change.items():
        row = bind.execute(sa.select(scores.c.id, scores.c.answers, scores.c.correct).where(
            scores.c.scope == scope, scores.c.period == period, scores.c.player_id == player_id)).first()
        if row is None:
            continue  # a player who asked to be forgotten
        total = max(0, row.answers + delta)
        hits = min(total, max(0, row.correct + right[(scope, period, player_id)]))
        bind.execute(sa.update(scores).where(scores.c.id == row.id).values(
            answers=total, correct=hits, wilson=_wilson_lower(hits, total)))


def _week(when: datetime) -> str:
    year, week, _ = (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).isocalendar()
    return f"{year}-W{week:02d}"


def _wilson_lower(successes: int, total: int, z: float = 1.959963984540054) -> float:
    """As db.stats.wilson_lower, copied so this migration never changes with the code."""
    if total <= 0:
        return 0.0
    p = successes / total
    centre = p + z * z / (2 * total)
    margin = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total))
    return max(0.0, (centre - margin) / (1 + z * z / total))
