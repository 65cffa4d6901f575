"""Players and chats: found or made on first sight, and a player forgotten on request."""
from __future__ import annotations

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Answer, Chat, Game, Player, Score


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
