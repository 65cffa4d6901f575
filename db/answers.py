"""Recording answers: many at once in a fixed handful of statements (Core, the hot path), one per
round and player. Scores move at the reveal (db.scoring), not here."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.clock import db_now
from db.models import Answer, Round, as_utc


class AnswerStatus(enum.Enum):
    RECORDED = "recorded"
    ALREADY = "already"
    CLOSED = "closed"
    NO_ROUND = "no_round"
    WRONG_KIND = "wrong_kind"  # a pair button on a single round, or the other way round


@dataclass(frozen=True)
class AnswerOutcome:
    status: AnswerStatus
    answers_so_far: int = 0  # how many have answered the round: says nothing about who was right


@dataclass(frozen=True)
class AnswerRequest:
    round_id: int
    player_id: int
    guess_real: bool
    chat_id: int | None = None  # the chat the click came from, when known: it must own the round
    pair: bool = False  # a pair button ("A is real" is guess_real): only for pair rounds


async def record_answer(session: AsyncSession, round_id: int, player_id: int, guess_real: bool,
                        now: datetime | None = None) -> AnswerOutcome:
    """Record one answer (see record_answers)."""
    [outcome] = await record_answers(session, [AnswerRequest(round_id, player_id, guess_real)], now)
    return outcome


async def record_answers(session: AsyncSession, requests: list[AnswerRequest],
                         now: datetime | None = None) -> list[AnswerOutcome]:
    """Record answers in order, in the caller's transaction. Scores move only at the round's
    reveal (db.scoring), so nothing read before it tells whether an answer was right.

    A fixed handful of statements serves the whole batch, so a busy bot commits many answers
    at once. The rounds' rows are locked first (FOR UPDATE; on SQLite the write lock taken at
    BEGIN), so a close and an answer cannot interleave: an answer counts before the close or is
    refused after it. The unique (round, player) constraint is the last guard against doubles.
    """
    round_ids = sorted({r.round_id for r in requests})
    rounds = {
        row.id: row
        for row in (
            await session.execute(
                select(Round.id, Round.is_real, Round.pair, Round.closed_at, Round.closes_at, Round.opened_at,
                       Round.chat_id)
                .where(Round.id.in_(round_ids))
                .order_by(Round.id)  # locked in one order by every writer: no deadlock between batches
                .with_for_update()
            )
        ).all()
    }
    # The database's clock, read after the lock (so ordered with any close of these rounds): a
    # worker whose own clock runs ahead or behind still takes exactly the answers in time.
    now = now or await db_now(session)
    taken = set(
        (
            await session.execute(
                select(Answer.round_id, Answer.player_id).where(
                    Answer.round_id.in_(round_ids), Answer.player_id.in_({r.player_id for r in requests})
                )
            )
        ).all()
    )
    outcomes: list[AnswerOutcome | None] = []
    rows = []
    for request in requests:
        round_ = rounds.get(request.round_id)
        if round_ is None or (request.chat_id is not None and request.chat_id != round_.chat_id):
            outcomes.append(AnswerOutcome(AnswerStatus.NO_ROUND))
        elif request.pair != round_.pair:
            outcomes.append(AnswerOutcome(AnswerStatus.WRONG_KIND))
        elif round_.closed_at is not None or now >= as_utc(round_.closes_at):
            outcomes.append(AnswerOutcome(AnswerStatus.CLOSED))
        elif (request.round_id, request.player_id) in taken:
            outcomes.append(AnswerOutcome(AnswerStatus.ALREADY))
        else:
            taken.add((request.round_id, request.player_id))
            correct = request.guess_real == round_.is_real
            reaction_ms = max(0, int((now - as_utc(round_.opened_at)).total_seconds() * 1000))
            rows.append(dict(round_id=request.round_id, player_id=request.player_id, guess_real=request.guess_real,
                             correct=correct, answered_at=now, reaction_ms=reaction_ms))
            outcomes.append(None)  # filled in below, once the round's count is known
    if rows:
        # In key order: two processes inserting the same (round, player) pairs then wait on each
        # other in one order, never in a cycle (a deadlock).
        await session.execute(insert(Answer), sorted(rows, key=lambda row: (row["round_id"], row["player_id"])))
        count_query = (select(Answer.round_id, func.count()).where(Answer.round_id.in_(round_ids))
                       .group_by(Answer.round_id))
        counts = {round_id: count for round_id, count in (await session.execute(count_query)).all()}
    else:
        counts = {}
    recorded = iter(rows)
    return [
        outcome if outcome is not None else _recorded(next(recorded), counts)
        for outcome in outcomes
    ]


def _recorded(row: dict, counts: dict[int, int]) -> AnswerOutcome:  # type: ignore[type-arg]
    return AnswerOutcome(AnswerStatus.RECORDED, int(counts.get(row["round_id"], 0)))
