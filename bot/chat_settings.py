"""Per-chat settings: round length and rounds per game (admins change them with /settings), and
the front-ends' own per-chat values (such as Discord's quiz channel), kept with the chat."""
from __future__ import annotations

from typing import Any

from bot import i18n, texts
from db.database import Database
from bot.errors import UserError
from bot.parsing import parse_count
from bot.refs import ChatRef, PlayerRef
from bot.settings import Settings
from db.models import Chat
from db.people import get_or_create_chat

def language_of(chat_row: Chat, chat: ChatRef | None = None) -> str:
    """The chat's language: an admin's choice (or the first game's), else the platform's for the
    chat, else English."""
    return i18n.normalise((chat_row.settings or {}).get("language") or (chat.lang if chat else None))


SECONDS_KEYS = ("seconds", "round", "round_seconds", "time")
ROUNDS_KEYS = ("rounds", "rounds_per_game", "games")
LANGUAGE_KEYS = ("language", "lang", "locale")


class ChatSettings:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    def round_seconds(self, chat: Chat) -> int:
        return int((chat.settings or {}).get("round_seconds", self.settings.round_seconds))

    def rounds_per_game(self, chat: Chat) -> int:
        return int((chat.settings or {}).get("rounds_per_game", self.settings.rounds_per_game))

    @staticmethod
    def language(chat: Chat) -> str | None:
        """The chat's language (a bot.i18n code), None where nobody chose one yet."""
        return (chat.settings or {}).get("language")

    @staticmethod
    def first_language(chat_row: Chat, chat: ChatRef, by: PlayerRef) -> None:
        """At a chat's first game: its language becomes the platform's for the chat (a Discord
        server's locale) or else that of whoever started the game; an admin's choice stays."""
        if ChatSettings.language(chat_row) is None:
            chat_row.settings = {**(chat_row.settings or {}), "language": i18n.normalise(chat.lang or by.lang)}

    async def language_of(self, chat: ChatRef) -> str:
        """The language the chat's shared messages are said in (English until one is known)."""
        async with self.db.transaction() as session:
            row = await get_or_create_chat(session, chat.platform, chat.chat_id, chat.title)
            return language_of(row, chat)

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
                if key.lower() in LANGUAGE_KEYS:
                    row.settings = {**(row.settings or {}), "language": self._language(value)}
                else:
                    name, number = self._parse(key, value)
                    row.settings = {**(row.settings or {}), name: number}
            language = self.language(row)
            t = texts.lang(language)
            return t.settings_now(self.round_seconds(row), self.rounds_per_game(row),
                                  i18n.language_name(language) if language else None)

    @staticmethod
    def _language(value: str | None) -> str:
        """A language code an admin typed ("es", "pt-BR") as the catalogue it picks; a code with
        no catalogue is refused (English is one choice among the others, never a silent fallback)."""
        code = i18n.normalise(value)
        if not value or (code == i18n.ENGLISH and str(value).strip().lower().split("-")[0].split("_")[0] != "en"):
            known = ", ".join(i18n.available())
            raise UserError(texts.later.settings_language_bad(known))
        return code

    def _parse(self, key: str, value: str | None) -> tuple[str, int]:
        key = key.lower()
        if key in SECONDS_KEYS:
            name, low, high, what = "round_seconds", 5, 600, texts.SETTING_SECONDS
        elif key in ROUNDS_KEYS:
            name, low, high, what = "rounds_per_game", 1, self.settings.max_rounds_per_game, texts.SETTING_ROUNDS
        else:
            raise UserError(texts.later.unknown_setting())
        error = texts.later.settings_bad(low, high, what)
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
