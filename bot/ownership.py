"""This process's leases on games (db.leases): its name, how long a lease lasts, and the calls
the quiz service makes to claim, keep, check and give up games."""
from __future__ import annotations

import os
import secrets
import socket
from datetime import datetime, timedelta

from bot.database import Database
from db import leases
from db.models import utcnow


def process_name() -> str:
    """Unique per process start, readable in the database: host, pid and a random tag."""
    return f"{socket.gethostname()[:48]}:{os.getpid()}:{secrets.token_hex(4)}"


class Leases:
    def __init__(self, db: Database, seconds: float, owner: str | None = None) -> None:
        self.db = db
        self.seconds = seconds  # a dead owner's games are free this long after its last renewal
        self.owner = owner or process_name()

    def until(self, now: datetime | None = None) -> datetime:
        return (now or utcnow()) + timedelta(seconds=self.seconds)

    async def claim(self, game_id: int, *, own: bool = False) -> bool:
        """Take a free game (with own: or keep one this process holds already)."""
        now = utcnow()
        async with self.db.transaction() as session:
            return await leases.claim_game(session, game_id, self.owner, self.until(now), now, own=own)

    async def claim_free(self, platform: str, skip: set[int]) -> list[int]:
        """Claim every game of the platform no live process owns (but those in skip): each
        claim is its own conditional update, so a game another process claims first is left."""
        async with self.db.transaction() as session:
            candidates = [g for g in await leases.claimable_games(session, platform, self.owner, utcnow())
                          if g not in skip]
        return [game_id for game_id in candidates if await self.claim(game_id)]

    async def renew(self, game_ids: list[int]) -> set[int]:
        """Keep these games' leases; returns the ids another process took over."""
        async with self.db.transaction() as session:
            return await leases.renew(session, self.owner, game_ids, self.until())

    async def release(self, game_ids: list[int]) -> None:
        async with self.db.transaction() as session:
            await leases.release(session, self.owner, game_ids)

    async def signals(self, game_ids: list[int], round_ids: list[int]) -> tuple[set[int], dict[int, int]]:
        """(games a /stop asked to end, answers so far per round): what other processes tell owners."""
        async with self.db.transaction() as session:
            return await leases.stop_requests(session, game_ids), await leases.answer_counts(session, round_ids)
