"""This process's leases on games (db.leases): its name, how long a lease lasts, and the calls
the quiz service makes to claim, keep, check and give up games. Every lease time is the
database's (db.clock): the process's own clock decides nothing here."""
from __future__ import annotations

import os
import secrets
import socket
from typing import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from db.database import Database
from db import leases
from db.models import Game

# Told of each game the moment its claim commits: (game id, platform chat id, chat title).
Adopt = Callable[[int, str, str], None]


def process_name() -> str:
    """Unique per process start, readable in the database: host, pid and a random tag."""
    return f"{socket.gethostname()[:48]}:{os.getpid()}:{secrets.token_hex(4)}"


class Leases:
    def __init__(self, db: Database, seconds: float, owner: str | None = None) -> None:
        self.db = db
        self.seconds = seconds  # a dead owner's games are free this long after its last renewal
        self.owner = owner or process_name()

    async def take_new(self, session: AsyncSession, game: Game) -> None:
        """Own a game this process is creating, in the transaction that creates it."""
        game.owner, game.lease_until = self.owner, await leases.lease_end(session, self.seconds)

    async def claim(self, game_id: int, *, own: bool = False) -> bool:
        """Take a free game (with own: or keep one this process holds already)."""
        async with self.db.transaction() as session:
            return await leases.claim_game(session, game_id, self.owner, self.seconds, own=own)

    async def claim_free(self, platform: str, skip: set[int], adopt: Adopt | None = None) -> list[int]:
        """Claim every game of the platform no live process owns (but those in skip): each
        claim is its own conditional update, so a game another process claims first is left.
        adopt hears of each claim as soon as it commits, before the next is tried, so the
        caller renews the game from then on."""
        async with self.db.transaction() as session:
            candidates = [c for c in await leases.claimable_games(session, platform, self.owner) if c[0] not in skip]
        claimed = []
        for game_id, chat_id, title in candidates:
            if await self.claim(game_id):
                claimed.append(game_id)
                if adopt is not None:
                    adopt(game_id, chat_id, title)
        return claimed

    async def renew(self, game_ids: list[int]) -> set[int]:
        """Keep these games' leases; returns the ids another process took over."""
        async with self.db.transaction() as session:
            return await leases.renew(session, self.owner, game_ids, self.seconds)

    async def release(self, game_ids: list[int]) -> None:
        async with self.db.transaction() as session:
            await leases.release(session, self.owner, game_ids)

    async def signals(self, game_ids: list[int], round_ids: list[int]) -> tuple[set[int], dict[int, int]]:
        """(games a /stop asked to end, answers so far per round): what other processes tell owners."""
        async with self.db.transaction() as session:
            return await leases.stop_requests(session, game_ids), await leases.answer_counts(session, round_ids)
