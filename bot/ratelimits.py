"""Per-user rate limits (sliding window): protect the generator and the database from one eager
user. RateLimiter keeps its window in memory (one process); SharedRateLimiter in the database."""
from __future__ import annotations

import math
import time
from collections import defaultdict, deque
from typing import TYPE_CHECKING, Callable, Hashable

from bot.errors import UserError
from bot import texts
from db import ratelimits

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from db.database import Database


class RateLimiter:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._hits: dict[Hashable, deque[float]] = defaultdict(deque)

    def check(self, key: Hashable) -> None:
        """Count one request for key, or raise UserError saying when to come back."""
        now = self.clock()
        hits = self._hits[key]
        while hits and now - hits[0] >= 60.0:
            hits.popleft()
        if len(hits) >= self.per_minute:
            raise UserError(texts.later.slow_down(max(1, math.ceil(60.0 - (now - hits[0])))))
        hits.append(now)
        if len(self._hits) > 100_000:  # forget idle users so memory stays bounded
            for idle in [k for k, v in self._hits.items() if not v or now - v[-1] >= 60.0]:
                del self._hits[idle]

    async def admit(self, key: Hashable) -> None:
        """check(), awaitable like SharedRateLimiter.admit: callers need not know which they hold."""
        self.check(key)


class SharedRateLimiter:
    """The same sliding window, kept in the database so that a limit holds across every bot
    process on it: one row per (kind, user), read under a row lock (PostgreSQL's FOR UPDATE;
    SQLite's one writer), so two processes never both let the last allowed request through."""

    def __init__(self, db: "Database", kind: str, per_minute: int, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.kind = kind
        self.per_minute = per_minute
        self.clock = clock  # wall clock: processes share no monotonic one

    async def check(self, key: Hashable, session: "AsyncSession | None" = None) -> None:
        """Count one request for key, or raise UserError saying when to come back. Pass the
        caller's session to count it in the caller's transaction (rolled back with it)."""
        if session is not None:
            await self._check(session, _key(key))
            return
        async with self.db.transaction() as own:
            await self._check(own, _key(key))

    async def admit(self, key: Hashable) -> None:
        await self.check(key)

    async def _check(self, session: "AsyncSession", key: str) -> None:
        now = self.clock()
        hits = [t for t in await ratelimits.locked_hits(session, self.kind, key, now) if now - t < 60.0]
        if len(hits) >= self.per_minute:
            raise UserError(texts.later.slow_down(max(1, math.ceil(60.0 - (now - hits[0])))))
        await ratelimits.save_hits(session, self.kind, key, hits + [now], now)


def _key(key: Hashable) -> str:
    parts = key if isinstance(key, tuple) else (key,)
    return ":".join(str(part) for part in parts)[:160]
