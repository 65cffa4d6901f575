"""Queries the game needs: players, chats, games, rounds and answers. Each function takes an
AsyncSession and leaves commit to the caller. Hot paths (answers) use Core statements.
Scoring at the reveal lives in db.scoring, the boards' reads in db.standings.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import Integer, cast, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Answer, Chat, Game, GeneratedFace, Player, RealPhoto, Round, Score, utcnow

GLOBAL_SCOPE = "all"
ALL_TIME = "all"


def chat_scope(chat_id: int) -> str:
    return f"chat:{chat_id}"


def week_period(when: datetime) -> str:
    year, week, _ = when.isocalendar()
    return f"{year}-W{week:02d}"


def as_utc(when: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stamp here is UTC."""
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


# --- players and chats -------------------------------------------------------------------

async def get_or_create_player(session: AsyncSession, platform: str, user_id: str, name: str) -> Player:
    query = select(Player).where(Player.platform == platform, Player.platform_user_id == user_id)
    player = (await session.execute(query)).scalar_one_or_none()
    if player is None:
        player = Player(platform=platform, platform_user_id=user_id, display_name=name[:128])
        try:
            async with session.begin_nested():  # added inside: a failed insert leaves nothing pending
                session.add(player)
                await session.flush()
        except IntegrityError:  # created by a concurrent request (this process or another)
            player = (await session.execute(query)).scalar_one()
    elif name and player.display_name != name[:128]:
        player.display_name = name[:128]
    return player


async def get_or_create_chat(session: AsyncSession, platform: str, chat_id: str, title: str = "") -> Chat:
    query = select(Chat).where(Chat.platform == platform, Chat.platform_chat_id == chat_id)
    chat = (await session.execute(query)).scalar_one_or_none()
    if chat is None:
        chat = Chat(platform=platform, platform_chat_id=chat_id, title=title[:256], settings={})
        try:
            async with session.begin_nested():
                session.add(chat)
                await session.flush()
        except IntegrityError:
            chat = (await session.execute(query)).scalar_one()
    return chat


async def find_player(session: AsyncSession, platform: str, user_id: str) -> Player | None:
    query = select(Player).where(Player.platform == platform, Player.platform_user_id == user_id)
    return (await session.execute(query)).scalar_one_or_none()


async def find_chat(session: AsyncSession, platform: str, chat_id: str) -> Chat | None:
    query = select(Chat).where(Chat.platform == platform, Chat.platform_chat_id == chat_id)
    return (await session.execute(query)).scalar_one_or_none()


async def forget_player(session: AsyncSession, player_id: int) -> int:
    """Delete a player with their answers and scores. Returns the number of answers removed."""
    answers = (await session.execute(select(func.count()).where(Answer.player_id == player_id))).scalar_one()
    await session.execute(delete(Answer).where(Answer.player_id == player_id))
    await session.execute(delete(Score).where(Score.player_id == player_id))
    await session.execute(update(Game).where(Game.started_by == player_id).values(started_by=None))
    await session.execute(delete(Player).where(Player.id == player_id))
    return int(answers)


# --- games and rounds --------------------------------------------------------------------

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


async def end_game(session: AsyncSession, game_id: int, now: datetime | None = None) -> bool:
    """End a game once. True if this call ended it (False: it had ended already)."""
    result = await session.execute(
        update(Game).where(Game.id == game_id, Game.ended_at.is_(None))
        .values(ended_at=now or utcnow(), active_chat_id=None)
    )
    return result.rowcount == 1


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
                   opened_at=opened_at or utcnow(), closes_at=closes_at)
    session.add(round_)
    await session.flush()
    return round_


async def start_clock(session: AsyncSession, round_id: int, message_ref: str, seconds: int,
                      now: datetime | None = None) -> datetime:
    """The round's post is confirmed: store its message and start its clock. Returns the close time."""
    closes_at = (now or utcnow()) + timedelta(seconds=seconds)
    await session.execute(update(Round).where(Round.id == round_id).values(message_ref=message_ref,
                                                                           closes_at=closes_at))
    return closes_at


async def close_round(session: AsyncSession, round_id: int, now: datetime | None = None) -> bool:
    """Close a round once. True if this call closed it (False: already closed)."""
    # Lock the round first so the close time is read after any answer that got in before it.
    await session.execute(select(Round.id).where(Round.id == round_id).with_for_update())
    result = await session.execute(
        update(Round).where(Round.id == round_id, Round.closed_at.is_(None)).values(closed_at=now or utcnow())
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


# --- answers -----------------------------------------------------------------------------

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
                .with_for_update()
            )
        ).all()
    }
    now = now or utcnow()  # read after the lock: ordered with any close of these rounds
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
        await session.execute(insert(Answer), rows)
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


# --- real photos -------------------------------------------------------------------------

async def count_quiz_photos(session: AsyncSession, packs: list[str]) -> int:
    query = select(func.count()).select_from(RealPhoto).where(RealPhoto.split == "heldout")
    if packs:
        query = query.where(RealPhoto.pack.in_(packs))
    return int((await session.execute(query)).scalar_one())


async def quiz_photo_at(session: AsyncSession, packs: list[str], index: int) -> RealPhoto | None:
    """The index-th held-out photo (by id) of the given packs: pick index at random for a random photo."""
    query = select(RealPhoto).where(RealPhoto.split == "heldout").order_by(RealPhoto.id).offset(index).limit(1)
    if packs:
        query = query.where(RealPhoto.pack.in_(packs))
    return (await session.execute(query)).scalar_one_or_none()

