"""Games and their rounds: one game per chat at a time, a round's clock, close and tallies, and
what a restart or another process must pick up. Scoring at the reveal lives in db.scoring.
A round's times come from the database's clock (db.clock), shared by every process."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Integer, cast, func, null, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.clock import db_now
from db.models import Answer, Chat, Game, GeneratedFace, Player, Round


class GameAlreadyRunning(Exception):
    pass


async def start_game(session: AsyncSession, chat_id: int, player_id: int | None, rounds: int,
                     round_seconds: int, hard: bool = False, mode: str = "single") -> Game:
    game = Game(chat_id=chat_id, active_chat_id=chat_id, started_by=player_id, rounds_total=rounds,
                round_seconds=round_seconds, hard=hard, mode=mode)
    session.add(game)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as error:
        raise GameAlreadyRunning() from error
    return game


async def active_game(session: AsyncSession, chat_id: int) -> Game | None:
    return (await session.execute(select(Game).where(Game.active_chat_id == chat_id))).scalar_one_or_none()


async def end_game(session: AsyncSession, game_id: int, now: datetime | None = None, *,
                   stopped: bool = False, reason: str | None = None) -> bool:
    """End a game once, its summary now due. True if this call ended it (False: it had ended already)."""
    result = await session.execute(
        update(Game).where(Game.id == game_id, Game.ended_at.is_(None))
        .values(ended_at=now or await db_now(session), active_chat_id=None, summary_due={"stopped": stopped, "reason": reason})
    )
    return result.rowcount == 1


async def summary_posted(session: AsyncSession, game_id: int) -> None:
    # SQL NULL, not JSON null (what None in a JSON column becomes): the game is done for every process.
    await session.execute(update(Game).where(Game.id == game_id).values(summary_due=null()))


async def add_generated_face(session: AsyncSession, seed: int, psi: float, model_version: str) -> GeneratedFace:
    face = GeneratedFace(seed=seed, truncation=psi, model_version=model_version)
    session.add(face)
    await session.flush()
    return face


async def add_round(session: AsyncSession, game: Game, number: int, *, is_real: bool, closes_at: datetime,
                    generated_face_id: int | None = None, real_photo_id: int | None = None,
                    opened_at: datetime | None = None, pair: bool = False) -> Round:
    round_ = Round(game_id=game.id, chat_id=game.chat_id, number=number, is_real=is_real, pair=pair,
                   generated_face_id=generated_face_id, real_photo_id=real_photo_id,
                   opened_at=opened_at or await db_now(session), closes_at=closes_at)
    session.add(round_)
    await session.flush()
    return round_


async def start_clock(session: AsyncSession, round_id: int, message_ref: str, seconds: int,
                      now: datetime | None = None) -> datetime:
    """The round's post is confirmed: store its message and start its clock. Returns the close time."""
    closes_at = (now or await db_now(session)) + timedelta(seconds=seconds)
    await session.execute(update(Round).where(Round.id == round_id).values(message_ref=message_ref,
                                                                           closes_at=closes_at))
    return closes_at


async def close_round(session: AsyncSession, round_id: int, now: datetime | None = None) -> bool:
    """Close a round once. True if this call closed it (False: already closed)."""
    # Lock the round first so the close time is read after any answer that got in before it.
    await session.execute(select(Round.id).where(Round.id == round_id).with_for_update())
    result = await session.execute(
        update(Round).where(Round.id == round_id, Round.closed_at.is_(None))
        .values(closed_at=now or await db_now(session))
    )
    return result.rowcount == 1


@dataclass(frozen=True)
class Tally:
    answers: int
    correct: int

    @property
    def share_right(self) -> float | None:
        return self.correct / self.answers if self.answers else None


async def round_tally(session: AsyncSession, round_id: int) -> Tally:
    query = select(func.count(Answer.id), func.coalesce(func.sum(cast(Answer.correct, Integer)), 0)).where(
        Answer.round_id == round_id
    )
    answers, correct = (await session.execute(query)).one()
    return Tally(int(answers), int(correct))


async def game_tallies(session: AsyncSession, game_id: int) -> list[tuple[int, str, int, int]]:
    """Per player in a game: (player id, name, answers, correct), best first; revealed rounds only."""
    correct = func.sum(cast(Answer.correct, Integer))
    query = (
        select(Player.id, Player.display_name, func.count(Answer.id), correct)
        .join(Answer, Answer.player_id == Player.id)
        .join(Round, Round.id == Answer.round_id)
        .where(Round.game_id == game_id, Round.revealed_at.is_not(None))
        .group_by(Player.id, Player.display_name)
        .order_by(correct.desc(), func.count(Answer.id).desc(), Player.display_name)
    )
    return [(int(a), str(b), int(c), int(d or 0)) for a, b, c, d in (await session.execute(query)).all()]


async def rounds_played(session: AsyncSession, game_id: int) -> int:
    return int((await session.execute(select(func.count()).where(Round.game_id == game_id))).scalar_one())


async def last_round(session: AsyncSession, game_id: int) -> Round | None:
    query = select(Round).where(Round.game_id == game_id).order_by(Round.number.desc()).limit(1)
    return (await session.execute(query)).scalar_one_or_none()


async def unrevealed_rounds(session: AsyncSession, platform: str) -> list[Round]:
    """Closed rounds whose reveal never reached their chat (a crash or shutdown came between)."""
    query = (
        select(Round).join(Chat, Chat.id == Round.chat_id)
        .where(Chat.platform == platform, Round.closed_at.is_not(None), Round.revealed_at.is_(None),
               Round.message_ref.is_not(None))
        .order_by(Round.id)
    )
    return list((await session.execute(query)).scalars())


async def open_rounds(session: AsyncSession, platform: str | None = None) -> list[Round]:
    query = select(Round).where(Round.closed_at.is_(None)).order_by(Round.id)
    if platform is not None:
        query = query.join(Chat, Chat.id == Round.chat_id).where(Chat.platform == platform)
    return list((await session.execute(query)).scalars())


async def unfinished_games(session: AsyncSession, platform: str | None = None) -> list[Game]:
    query = select(Game).where(Game.active_chat_id.is_not(None)).order_by(Game.id)
    if platform is not None:
        query = query.join(Chat, Chat.id == Game.chat_id).where(Chat.platform == platform)
    return list((await session.execute(query)).scalars())
