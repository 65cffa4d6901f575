"""How front-ends name players and chats to the core: platform plus the platform's own id."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PlayerRef:
    platform: str  # 'telegram', 'discord', 'web'
    user_id: str
    name: str
    # The player's language as the platform says it ("pt-br", "uk"; None: unknown): their own replies.
    lang: str | None = None


@dataclass(frozen=True)
class ChatRef:
    platform: str
    chat_id: str
    title: str = ""
    # People expected to answer (small chats): a round closes early once they all have.
    expected_players: int | None = None
    # The platform's language for the chat where it has one (Discord's server locale): the chat's
    # language until an admin picks one with /settings language.
    lang: str | None = None
