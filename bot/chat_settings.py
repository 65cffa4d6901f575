"""Per-chat settings: round length and rounds per game (admins change them with /settings), and
the front-ends' own per-chat values (such as Discord's quiz channel), kept with the chat."""
from __future__ import annotations

from typing import Any

from bot import texts
from db.database import Database
from bot.errors import UserError
from bot.parsing import parse_count
from bot.refs import ChatRef
from bot.settings import Settings
from db.models import Chat
from db.people import get_or_create_chat

SECONDS_KEYS = ("seconds", "round", "round_seconds", "time")
ROUNDS_KEYS = ("rounds", "rounds_per_game", "games")


class ChatSettings:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    def round_seconds(self, chat: Chat) -> int:
        return int((chat.settings or {}).get("round_seconds", self.settings.round_seconds))

    def rounds_per_game(self, chat: Chat) -> int:
        return int((chat.settings or {}).get("rounds_per_game", self.settings.rounds_per_game))

    async def current(self, chat: ChatRef) -> tuple[int, int]:
        """(round seconds, rounds per game) in this chat."""
        async with self.db.transaction() as session:
            row = await get_or_create_chat(session, chat.platform, chat.chat_id, chat.title)
            return self.round_seconds(row), self.rounds_per_game(row)

    async def update(self, chat: ChatRef, *, is_admin: bool, key: str | None, value: str | None) -> str:
        """/settings [seconds|rounds] [N]: show this chat's settings, or change one (admins only)."""
        async with self.db.transaction() as session:
            row = await get_or_create_chat(session, chat.platform, chat.chat_id, chat.title)
            if key is not None:
                if not is_admin:
                    raise UserError(texts.NOT_ADMIN)
                name, number = self._parse(key, value)
                row.settings = {**(row.settings or {}), name: number}
            return texts.settings_now(self.round_seconds(row), self.rounds_per_game(row))

    def _parse(self, key: str, value: str | None) -> tuple[str, int]:
        key = key.lower()
        if key in SECONDS_KEYS:
            name, low, high, what = "round_seconds", 5, 600, "round length in seconds"
        elif key in ROUNDS_KEYS:
            name, low, high, what = "rounds_per_game", 1, self.settings.max_rounds_per_game, "rounds per game"
        else:
            raise UserError("Unknown setting. " + texts.SETTINGS_USAGE)
        error = texts.settings_bad(low, high, what)
        if value is None or not str(value).strip():
            raise UserError(error)
        return name, parse_count(value, default=low, low=low, high=high, error=error)

    async def option(self, chat: ChatRef, key: str) -> Any:
        """A front-end's own value for this chat (None if unset)."""
        async with self.db.transaction() as session:
            row = await get_or_create_chat(session, chat.platform, chat.chat_id, chat.title)
            return (row.settings or {}).get(key)

    async def set_option(self, chat: ChatRef, key: str, value: Any) -> None:
        """Store value under key (None removes it); JSON-compatible values only."""
        async with self.db.transaction() as session:
            row = await get_or_create_chat(session, chat.platform, chat.chat_id, chat.title)
            options = dict(row.settings or {})
            if value is None:
                options.pop(key, None)
            else:
                options[key] = value
            row.settings = options  # a new dict, so the JSON column sees the change
