"""What boards and stats read: the running totals that reveals move (db.scoring), through
indexes, never by scanning answers."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.games import Tally
from db.models import FoolCount, Player, Score
from db.scopes import ALL_TIME, GLOBAL_SCOPE
from db.stats import wilson_interval


@dataclass(frozen=True)
class BoardRow:
    rank: int
    player_id: int
    name: str
    answers: int
    correct: int
    best_streak: int
    wilson: float

    @property
    def accuracy(self) -> float:
        return self.correct / self.answers if self.answers else 0.0


async def leaderboard(session: AsyncSession, *, scope: str, period: str, min_answers: int,
                      limit: int = 10) -> list[BoardRow]:
    query = (
        select(Score.player_id, Player.display_name, Score.answers, Score.correct, Score.best_streak, Score.wilson)
        .join(Player, Player.id == Score.player_id)
        .where(Score.scope == scope, Score.period == period, Score.answers >= min_answers)
        .order_by(Score.wilson.desc(), Score.answers.desc(), Score.player_id)
        .limit(limit)
    )
    rows = (await session.execute(query)).all()
    return [BoardRow(i + 1, *row) for i, row in enumerate(rows)]


@dataclass(frozen=True)
class PlayerScore:
    scope: str
    period: str
    answers: int
    correct: int
    best_streak: int
    streak: int
    wilson: float
    rank: int | None  # None until the player has enough answers

    @property
    def accuracy(self) -> float:
        return self.correct / self.answers if self.answers else 0.0


async def player_scores(session: AsyncSession, player_id: int, scopes: list[tuple[str, str]],
                        min_answers: int) -> dict[tuple[str, str], PlayerScore]:
    result: dict[tuple[str, str], PlayerScore] = {}
    for scope, period in scopes:
        score = (
            await session.execute(
                select(Score).where(Score.player_id == player_id, Score.scope == scope, Score.period == period)
            )
        ).scalar_one_or_none()
        if score is None:
            continue
        rank = None
        if score.answers >= min_answers:
            ahead = await session.execute(
                select(func.count()).where(
                    Score.scope == scope, Score.period == period, Score.answers >= min_answers,
                    Score.wilson > score.wilson,
                )
            )
            rank = int(ahead.scalar_one()) + 1
        result[(scope, period)] = PlayerScore(scope, period, score.answers, score.correct, score.best_streak,
                                              score.streak, score.wilson, rank)
    return result


@dataclass(frozen=True)
class FoolRate:
    model_version: str
    truncation: float
    answers: int
    fooled: int
    low: float
    high: float

    @property
    def rate(self) -> float:
        return self.fooled / self.answers if self.answers else 0.0


async def fool_rates(session: AsyncSession) -> list[FoolRate]:
    """Per model version and truncation: revealed answers on generated faces that said 'real',
    with a 95% CI. Reads the running counts, never the answers."""
    query = select(FoolCount.model_version, FoolCount.truncation, FoolCount.answers, FoolCount.fooled).order_by(
        FoolCount.model_version, FoolCount.truncation)
    rates = []
    for version, psi, answers, fooled in (await session.execute(query)).all():
        low, high = wilson_interval(int(fooled), int(answers))
        rates.append(FoolRate(version, float(psi), int(answers), int(fooled), low, high))
    return rates


async def overall_accuracy(session: AsyncSession) -> Tally:
    """Everyone's revealed answers: the sum of the players' all-time global totals (one row each)."""
    query = select(func.coalesce(func.sum(Score.answers), 0), func.coalesce(func.sum(Score.correct), 0)).where(
        Score.scope == GLOBAL_SCOPE, Score.period == ALL_TIME)
    answers, correct = (await session.execute(query)).one()
    return Tally(int(answers), int(correct))
