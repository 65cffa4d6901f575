"""Scores move at the reveal: a round's answers are added to the running totals (boards, stats,
the fool rate) in the same transaction that marks the round revealed, and only when that mark
is new. A reveal shown twice (a crash right after it, a restart) therefore counts once, and no
read before the reveal can tell whether an answer was right.

Reveals in several processes share rows (a player's global totals, a model's fool count). Every
reveal locks and inserts score rows in one order, their sorted keys, so two reveals wait on each
other in line instead of in a cycle; what still races (a row both insert first, a deadlock
PostgreSQL detects anyway) is retried by the caller (db.database.Database.retrying).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.clock import db_now
from db.models import Answer, FaceFools, FoolCount, GeneratedFace, Round, Score
from db.modes import PAIRS, SINGLE, scoped
from db.scopes import ALL_TIME, GLOBAL_SCOPE, chat_scope, week_period
from db.stats import wilson_lower


async def reveal_and_score(session: AsyncSession, round_id: int, now: datetime | None = None) -> bool:
    """Mark the round revealed and score its answers. False (nothing scored) if it was revealed
    already. Callers retry the transaction when it meets another process's writes (a row that
    process created first, a deadlock): db.database.Database.retrying."""
    now = now or await db_now(session)
    marked = await session.execute(
        update(Round).where(Round.id == round_id, Round.revealed_at.is_(None)).values(revealed_at=now)
    )
    if marked.rowcount != 1:
        return False
    round_ = (await session.execute(
        select(Round.chat_id, Round.is_real, Round.pair, Round.generated_face_id).where(Round.id == round_id))).one()
    answers = (await session.execute(
        select(Answer.player_id, Answer.correct, Answer.guess_real).where(Answer.round_id == round_id)
        .order_by(Answer.answered_at, Answer.id))).all()
    if answers:
        mode = PAIRS if round_.pair else SINGLE  # each mode keeps its own totals
        await _add_to_scores(session, [(player, round_.chat_id, bool(correct)) for player, correct, _ in answers], now,
                             mode)
        # The fool rate and the hall are the single-image game's measures: a pair's choice is a comparison.
        if not round_.pair and not round_.is_real and round_.generated_face_id is not None:
            fooled = sum(1 for _, _, said_real in answers if said_real)
            await _add_to_fool_counts(session, round_.generated_face_id, len(answers), fooled)
            await _add_to_face_fools(session, round_.generated_face_id, len(answers), fooled, now)
    return True


async def _add_to_fool_counts(session: AsyncSession, face_id: int, answers: int, fooled: int) -> None:
    version, psi = (await session.execute(
        select(GeneratedFace.model_version, GeneratedFace.truncation).where(GeneratedFace.id == face_id))).one()
    key = (FoolCount.model_version == version, FoolCount.truncation == psi)
    row = (await session.execute(select(FoolCount.id).where(*key).with_for_update())).scalar_one_or_none()
    if row is None:
        await session.execute(insert(FoolCount).values(model_version=version, truncation=psi, answers=answers,
                                                       fooled=fooled))
    else:
        await session.execute(update(FoolCount).where(FoolCount.id == row).values(
            answers=FoolCount.answers + answers, fooled=FoolCount.fooled + fooled))


async def _add_to_face_fools(session: AsyncSession, face_id: int, answers: int, fooled: int,
                             now: datetime) -> None:
    """The hall of fakes' counts for this face: all time and the reveal's week."""
    for period in (ALL_TIME, week_period(now)):
        key = (FaceFools.generated_face_id == face_id, FaceFools.period == period)
        row = (await session.execute(
            select(FaceFools.id, FaceFools.answers, FaceFools.fooled).where(*key).with_for_update())).one_or_none()
        total, said_real = answers + (row.answers if row else 0), fooled + (row.fooled if row else 0)
        values = dict(answers=total, fooled=said_real, wilson=wilson_lower(said_real, total))
        if row is None:
            await session.execute(insert(FaceFools).values(generated_face_id=face_id, period=period, **values))
        else:
            await session.execute(update(FaceFools).where(FaceFools.id == row.id).values(**values))


async def _add_to_scores(session: AsyncSession, scored: list[tuple[int, int, bool]], now: datetime,
                         mode: str = SINGLE) -> None:
    """Add answers (player, chat, correct), in order, to each player's four running totals of
    the mode: this chat and global, all time and this week."""
    week = week_period(now)
    keys_of = {
        (player_id, chat_id): [(scoped(s, mode), p) for s in (chat_scope(chat_id), GLOBAL_SCOPE)
                               for p in (ALL_TIME, week)]
        for player_id, chat_id, _ in scored
    }
    scopes = {scope for keys in keys_of.values() for scope, _ in keys}
    columns = (Score.id, Score.player_id, Score.scope, Score.period, Score.answers, Score.correct, Score.streak,
               Score.best_streak)
    found = {
        (player_id, scope, period): [score_id, answers, right, streak, best]
        for score_id, player_id, scope, period, answers, right, streak, best in (
            await session.execute(
                select(*columns).where(
                    Score.player_id.in_({p for p, _, _ in scored}),
                    Score.scope.in_(scopes),
                    Score.period.in_([ALL_TIME, week]),
                ).order_by(Score.player_id, Score.scope, Score.period).with_for_update()  # locked in key order
            )
        ).all()
    }
    new_keys = []
    for player_id, chat_id, correct in scored:
        for scope, period in keys_of[(player_id, chat_id)]:
            key = (player_id, scope, period)
            if key not in found:
                found[key] = [None, 0, 0, 0, 0]
                new_keys.append(key)
            total = found[key]
            total[1] += 1
            total[2] += int(correct)
            total[3] = total[3] + 1 if correct else 0
            total[4] = max(total[4], total[3])
    touched = sorted({(p, s, per) for p, c, _ in scored for s, per in keys_of[(p, c)]})  # key order: see above
    updates, inserts = [], []
    for key in touched:
        score_id, answers, right, streak, best = found[key]
        values = dict(answers=answers, correct=right, streak=streak, best_streak=best,
                      wilson=wilson_lower(right, answers))
        if score_id is None:
            inserts.append(dict(player_id=key[0], scope=key[1], period=key[2], **values))
        else:
            updates.append(dict(id=score_id, **values))
    if updates:
        await session.execute(update(Score), updates)  # executemany by primary key
    if inserts:
        await session.execute(insert(Score), inserts)
