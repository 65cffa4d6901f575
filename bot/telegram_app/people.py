"""Telegram users and chats as the core knows them (PlayerRef, ChatRef), and who is a chat admin."""
from __future__ import annotations

import logging
import time

from telegram import Bot, Chat, ChatMember, Message, User
from telegram.error import TelegramError

from bot.refs import ChatRef, PlayerRef
from bot.telegram_app.calls import deliver

log = logging.getLogger(__name__)
PLATFORM = "telegram"


def player_ref(user: User) -> PlayerRef:
    # The name exactly as the user set it; every message is sent as plain text, so it shows as typed.
    # language_code ("pt-br", "uk") says the user's app language: their own replies are said in it.
    return PlayerRef(PLATFORM, str(user.id), user.full_name or user.username or f"user {user.id}",
                     user.language_code)


def chat_title(chat: Chat) -> str:
    return chat.title or chat.full_name or chat.username or str(chat.id)


class ChatDirectory:
    """Builds ChatRefs. In a small chat every human is expected to answer, so a round can close as
    soon as they all have: private chats count 1, groups count members minus the bot itself when
    that is at most `small_chat` (the Bot API cannot list a group's other bots). Counts are cached."""

    def __init__(self, bot: Bot, *, small_chat: int = 10, ttl_seconds: float = 300.0) -> None:
        self.bot = bot
        self.small_chat = small_chat
        self.ttl_seconds = ttl_seconds
        self._counts: dict[int, tuple[float, int | None]] = {}

    async def chat_ref(self, chat: Chat) -> ChatRef:
        return ChatRef(PLATFORM, str(chat.id), chat_title(chat), await self.expected_players(chat))

    async def expected_players(self, chat: Chat) -> int | None:
        if chat.type == Chat.CHANNEL:
            return None
        return await self.expected_in(chat.id)

    async def expected_in(self, chat_id: int) -> int | None:
        if chat_id > 0:  # a private chat's id is the user's id; groups have negative ids
            return 1
        cached = self._counts.get(chat_id)
        if cached is not None and time.monotonic() - cached[0] < self.ttl_seconds:
            return cached[1]
        try:
            members = await deliver(lambda: self.bot.get_chat_member_count(chat_id), "getChatMemberCount",
                                    attempts=2)
        except TelegramError as error:  # no early close then; the round runs its full time
            log.warning("could not count the members of chat %s: %s", chat_id, error)
            return None
        humans = members - 1
        expected = humans if 1 <= humans <= self.small_chat else None
        self._counts[chat_id] = (time.monotonic(), expected)
        return expected

    async def expected_for(self, chat: ChatRef) -> int | None:
        """For the core's recover(): the same count, from a chat the core remembers."""
        return await self.expected_in(int(chat.chat_id))

    async def is_admin(self, chat: Chat, user: User, message: Message | None) -> bool:
        if chat.type == Chat.PRIVATE:
            return True
        if message is not None and message.sender_chat is not None and message.sender_chat.id == chat.id:
            return True  # an anonymous admin, writing as the group itself
        member = await deliver(lambda: self.bot.get_chat_member(chat.id, user.id), "getChatMember")
        return member.status in (ChatMember.OWNER, ChatMember.ADMINISTRATOR)
