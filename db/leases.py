"""Game ownership across processes: who runs each game's loop, until when, and the signals
(/stop, answers) that reach an owner from other processes.

A lease is (owner, lease_until) on the game's row. An owner renews its leases well before they
run out; a game whose lease ran out (its process died or hung) may be claimed by any process.
Every claim is one conditional UPDATE, so two processes never both win the same game. Lease
times are read from the database's clock (db.clock), so a process with a skewed clock neither
takes a live game nor lets its own run out early.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, and_, cast, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from db.clock import db_now
from db.models import Answer, Chat, Game


def _unfinished() -> ColumnElement[bool]:
    """A game with work left: still running, or ended with its summary not yet posted."""
    # A posted summary was once stored as JSON null rather than SQL NULL: such a game is done too.
    due = and_(Game.summary_due.is_not(None), cast(Game.summary_due, String) != "null")
    return or_(Game.ended_at.is_(None), due)


def _claimable(owner: str, now: datetime, *, own: bool) -> ColumnElement[bool]:
    """Unfinished, and unowned or left by an owner that stopped renewing (or, with own, this
    owner's already). A sweep leaves this owner's live leases alone: those games run here."""
    free = or_(Game.owner.is_(None), Game.lease_until.is_(None), Game.lease_until < now,
               *([Game.owner == owner] if own else []))
    return and_(_unfinished(), free)


async def lease_end(session: AsyncSession, seconds: float) -> datetime:
    """When a lease taken or renewed now runs out, by the database's clock."""
    return await db_now(session) + timedelta(seconds=seconds)


async def claim_game(session: AsyncSession, game_id: int, owner: str, seconds: float, *,
                     own: bool = False) -> bool:
    """Take one game's lease for `seconds` (with own: or keep this owner's). False if another
    live owner has it, or nothing is left to do in it."""
    now = await db_now(session)
    result = await session.execute(update(Game).where(Game.id == game_id, _claimable(owner, now, own=own))
                                   .values(owner=owner, lease_until=now + timedelta(seconds=seconds)))
    return result.rowcount == 1


async def claimable_games(session: AsyncSession, platform: str, owner: str) -> list[tuple[int, str, str]]:
    """(game id, platform chat id, chat title) of the platform's games this owner could claim
    now (oldest first)."""
    query = (select(Game.id, Chat.platform_chat_id, Chat.title).join(Chat, Chat.id == Game.chat_id)
             .where(Chat.platform == platform, _claimable(owner, await db_now(session), own=False))
             .order_by(Game.id))
    return [(int(game_id), str(chat_id), str(title or "")) for game_id, chat_id, title in
            (await session.execute(query)).all()]


async def renew(session: AsyncSession, owner: str, game_ids: list[int], seconds: float) -> set[int]:
    """Extend the owner's leases on these games by `seconds` from now; returns the ids it lost:
    unfinished games another process took over (a game finished meanwhile is not lost)."""
    if not game_ids:
        return set()
    await session.execute(update(Game).where(Game.id.in_(game_ids), Game.owner == owner, _unfinished())
                          .values(lease_until=await lease_end(session, seconds)))
    lost = select(Game.id).where(Game.id.in_(game_ids), _unfinished(),
                                 or_(Game.owner.is_(None), Game.owner != owner))
    return set((await session.execute(lost)).scalars())


async def holds(session: AsyncSession, game_id: int, owner: str, now: datetime) -> bool:
    """Does `owner` hold a live lease on the game at `now` (the database's time, db.clock)?
    Checked before each post: an owner that lost its game, e.g. after a long pause, must not post
    another round."""
    query = select(Game.id).where(Game.id == game_id, Game.owner == owner, Game.lease_until > now,
                                  Game.ended_at.is_(None))
    return (await session.execute(query)).first() is not None


async def release(session: AsyncSession, owner: str, game_ids: list[int]) -> None:
    """Give up leases (a clean shutdown): another process may take the games over at once."""
    if game_ids:
        await session.execute(update(Game).where(Game.id.in_(game_ids), Game.owner == owner)
                              .values(owner=None, lease_until=None))


async def request_stop(session: AsyncSession, game_id: int) -> None:
    await session.execute(update(Game).where(Game.id == game_id).values(stop_requested=True))


async def stop_requests(session: AsyncSession, game_ids: list[int]) -> set[int]:
    """Which of these games a /stop in any process asked to end."""
    if not game_ids:
        return set()
    query = select(Game.id).where(Game.id.in_(game_ids), Game.stop_requested.is_(True))
    return set((await session.execute(query)).scalars())


async def answer_counts(session: AsyncSession, round_ids: list[int]) -> dict[int, int]:
    """Answers so far per round (answers taken by any process: the owner closes a round early on them)."""
    if not round_ids:
        return {}
    query = select(Answer.round_id, func.count()).where(Answer.round_id.in_(round_ids)).group_by(Answer.round_id)
    return {round_id: int(count) for round_id, count in (await session.execute(query)).all()}


async def has_ended(session: AsyncSession, game_id: int) -> bool:
    return (await session.execute(select(Game.ended_at).where(Game.id == game_id))).scalar_one_or_none() is not None
