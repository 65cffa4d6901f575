"""The daily challenge's queries: a day's plan, a player's one try, the daily boards.

A plan is a list of rounds, {"is_real", "photo_id", "seed", "psi", "image"}, "image" being the
round's posted JPEG (zlib, base64): stored with the plan so every process serves the same bytes.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import DailyChallenge, DailyPlay, Player, utcnow


async def get_or_add_challenge(session: AsyncSession, day: str, number: int,
                               plan: list[dict[str, Any]]) -> DailyChallenge:
    """The day's challenge; the first caller's plan is kept (another process may have won the race:
    its insert holds ours until it commits, then ours fails on the key and reads its plan)."""
    found = await session.get(DailyChallenge, day)
    if found is not None:
        return found
    try:
        async with session.begin_nested():
            challenge = DailyChallenge(day=day, number=number, plan=plan)
            session.add(challenge)
            await session.flush()
            return challenge
    except IntegrityError:
        found = await session.get(DailyChallenge, day, populate_existing=True)
        assert found is not None
        return found


async def get_or_start_play(session: AsyncSession, day: str, player_id: int) -> DailyPlay:
    """The player's try at the day: started now, or the one started before (one try a day)."""
    query = select(DailyPlay).where(DailyPlay.day == day, DailyPlay.player_id == player_id)
    found = (await session.execute(query)).scalar_one_or_none()
    if found is not None:
        return found
    try:
        async with session.begin_nested():
            play = DailyPlay(day=day, player_id=player_id, next_number=1, correct=0, marks="")
            session.add(play)
            await session.flush()
            return play
    except IntegrityError:  # a double click on /daily: the other request started it
        return (await session.execute(query)).scalar_one()


async def find_play(session: AsyncSession, day: str, player_id: int) -> DailyPlay | None:
    return (await session.execute(select(DailyPlay).where(DailyPlay.day == day, DailyPlay.player_id == player_id))
            ).scalar_one_or_none()


async def record_daily_answer(session: AsyncSession, play_id: int, number: int, right: bool, last: bool,
                              now: datetime | None = None) -> bool:
    """Move the try past round `number` once: False if that round was answered already (a double click)."""
    values: dict[str, Any] = dict(next_number=number + 1, correct=DailyPlay.correct + int(right),
                                  marks=DailyPlay.marks + ("y" if right else "n"))
    if last:
        values["finished_at"] = now or utcnow()
    result = await session.execute(update(DailyPlay).where(DailyPlay.id == play_id, DailyPlay.next_number == number)
                                   .values(**values))
    return result.rowcount == 1


@dataclass(frozen=True)
class DailyRow:
    name: str
    correct: int
    rounds: int  # rounds answered (today) or plays (all time)


async def day_board(session: AsyncSession, day: str, limit: int) -> list[DailyRow]:
    """Finished tries of the day: most right first, then who finished first."""
    query = (select(Player.display_name, DailyPlay.correct, func.length(DailyPlay.marks))
             .join(Player, Player.id == DailyPlay.player_id)
             .where(DailyPlay.day == day, DailyPlay.finished_at.is_not(None))
             .order_by(DailyPlay.correct.desc(), DailyPlay.finished_at, DailyPlay.id).limit(limit))
    return [DailyRow(name, int(correct), int(rounds)) for name, correct, rounds in (await session.execute(query)).all()]


async def all_time_board(session: AsyncSession, limit: int) -> list[DailyRow]:
    """Every finished try summed per player: most rounds right first."""
    total = func.sum(DailyPlay.correct)
    query = (select(Player.display_name, total, func.count())
             .join(Player, Player.id == DailyPlay.player_id)
             .where(DailyPlay.finished_at.is_not(None))
             .group_by(Player.id, Player.display_name).order_by(total.desc(), func.count(), Player.id).limit(limit))
    return [DailyRow(name, int(correct), int(plays)) for name, correct, plays in (await session.execute(query)).all()]
