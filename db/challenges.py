"""Challenges anywhere (Telegram inline, Discord user installs), kept in the ordinary model.

A challenge is a one-round game in the platform's "anywhere" chat: chats row (platform
'anywhere', chat id = the front-end's platform), a game that never holds the chat's one active
slot (active_chat_id stays NULL, so any number run at once), and one round. Answers are ordinary
answers (one per player and round, the unique constraint), scored at the reveal by db.scoring
like any round, so they count on each player's global board once. The challenge's public texts
are said in its sender's language: each language has its own anywhere chat (chat id "<platform>"
for English, "<platform>:<lang>" otherwise, with {"language": lang} in its settings), so no
migration and no shared row written by every challenge. The quiz's own restart and
takeover paths never see these rounds: they look for chats of 'telegram' or 'discord'.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.clock import db_now
from db.games import add_round
from db.models import Chat, Game, Round
from db.people import get_or_create_chat

ANYWHERE = "anywhere"  # chats.platform of every challenge's chat
ENGLISH = "en"


def _of_platform(platform: str):  # type: ignore[no-untyped-def]
    """The platform's anywhere chats: one per sender language ("telegram", "telegram:es", ...)."""
    return or_(Chat.platform_chat_id == platform, Chat.platform_chat_id.like(f"{platform}:%"))


def _language(chat: Chat) -> str:
    return str((chat.settings or {}).get("language") or ENGLISH)


@dataclass(frozen=True)
class ChallengeRow:
    round_id: int
    platform: str
    is_real: bool
    message_ref: str | None
    closes_at: datetime
    closed: bool
    revealed: bool
    lang: str  # the sender's language: the public message and its reveal are said in it


async def add_challenge(session: AsyncSession, platform: str, *, is_real: bool, seconds: int,
                        generated_face_id: int | None, real_photo_id: int | None, lang: str = ENGLISH) -> int:
    """A new challenge (its game and round) sent by someone speaking lang (a bot.i18n code);
    returns the round's id."""
    chat_id = platform if lang == ENGLISH else f"{platform}:{lang}"
    chat = await get_or_create_chat(session, ANYWHERE, chat_id, f"{platform} challenges ({lang})")
    if _language(chat) != lang:  # a new language's chat: it says its language once, at its creation
        chat.settings = {**(chat.settings or {}), "language": lang}
    now = await db_now(session)
    game = Game(chat_id=chat.id, active_chat_id=None, started_by=None, rounds_total=1, round_seconds=seconds)
    session.add(game)
    await session.flush()
    round_ = await add_round(session, game, 1, is_real=is_real, closes_at=now + timedelta(seconds=seconds),
                             generated_face_id=generated_face_id, real_photo_id=real_photo_id, opened_at=now)
    return round_.id


async def find_challenge(session: AsyncSession, platform: str, round_id: int) -> ChallengeRow | None:
    """The challenge with this round id on this platform; None for any other round (a quiz round's
    id in a hand-made button must not reach its truth)."""
    row = (await session.execute(
        select(Round.id, Round.is_real, Round.message_ref, Round.closes_at, Round.closed_at, Round.revealed_at,
               Chat.settings)
        .join(Chat, Chat.id == Round.chat_id)
        .where(Round.id == round_id, Chat.platform == ANYWHERE, _of_platform(platform)))).one_or_none()
    if row is None:
        return None
    return ChallengeRow(row.id, platform, bool(row.is_real), row.message_ref, row.closes_at,
                        row.closed_at is not None, row.revealed_at is not None,
                        str((row.settings or {}).get("language") or ENGLISH))


async def language_of_round(session: AsyncSession, round_: Round) -> str:
    """The language a challenge's public message is said in (its sender's)."""
    chat = await session.get(Chat, round_.chat_id)
    return _language(chat) if chat is not None else ENGLISH


async def set_message(session: AsyncSession, round_id: int, message_ref: str, restart_seconds: int | None) -> bool:
    """Store where the challenge was posted, once; restart_seconds: its clock starts now (the post
    was confirmed), else it keeps the clock started at its creation. True if this call stored it."""
    values: dict[str, object] = {"message_ref": message_ref}
    if restart_seconds is not None:
        values["closes_at"] = await db_now(session) + timedelta(seconds=restart_seconds)
    result = await session.execute(update(Round).where(Round.id == round_id, Round.message_ref.is_(None),
                                                       Round.closed_at.is_(None)).values(**values))
    return result.rowcount == 1


async def due_challenges(session: AsyncSession, platform: str, now: datetime | None = None) -> list[int]:
    """Challenges of the platform past their time, or closed and never revealed (a crash between)."""
    now = now or await db_now(session)
    query = (select(Round.id).join(Chat, Chat.id == Round.chat_id)
             .where(Chat.platform == ANYWHERE, _of_platform(platform), Round.revealed_at.is_(None),
                    (Round.closes_at <= now) | Round.closed_at.is_not(None))
             .order_by(Round.id))
    return list((await session.execute(query)).scalars())


async def end_challenge_game(session: AsyncSession, round_id: int) -> None:
    """The challenge's game ends with its round (no summary: the reveal says it all)."""
    game_id = select(Round.game_id).where(Round.id == round_id).scalar_subquery()
    await session.execute(update(Game).where(Game.id == game_id, Game.ended_at.is_(None))
                          .values(ended_at=await db_now(session)))
