"""How front-ends name players and chats to the core: platform plus the platform's own id."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PlayerRef:
    platform: str  # 'telegram', 'discord', 'web'
    user_id: str
    name: str


@dataclass(frozen=True)
class ChatRef:
    platform: str
    chat_id: str
    title: str = ""
    # People expected to answer (small chats): a round closes early once they all have.
    expected_players: int | None = None
