"""Per-user rate limits (sliding window): protect the generator and the database from one eager
user. RateLimiter keeps its window in memory (one process); SharedRateLimiter in the database.
SharedBusy marks a user's one heavy job (a morph) in the database, so that every process sees it."""
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


class SharedBusy:
    """One job at a time per user across every bot process on the database: a marker in the
    rate-limit table (kind, user) holding when it lapses. `take` sets it unless a live one is there;
    `release` clears it; a process that dies mid-job frees the user after `seconds` (at most
    db.ratelimits.FORGET_AFTER, when idle rows may be swept)."""

    def __init__(self, db: "Database", kind: str, seconds: float = 120.0, clock: Callable[[], float] = time.time) -> None:
        if not 0 < seconds <= ratelimits.FORGET_AFTER:
            raise ValueError(f"a busy marker lasts more than 0 and at most {ratelimits.FORGET_AFTER:g} seconds")
        self.db, self.kind, self.seconds, self.clock = db, kind, seconds, clock

    async def take(self, key: Hashable) -> bool:
        """Mark key busy; False when it already is (in this process or another)."""
        async with self.db.transaction() as session:
            now = self.clock()
            if any(until > now for until in await ratelimits.locked_hits(session, self.kind, _key(key), now)):
                return False
            await ratelimits.save_hits(session, self.kind, _key(key), [now + self.seconds], now)
            return True

    async def release(self, key: Hashable) -> None:
        async with self.db.transaction() as session:
            now = self.clock()
            await ratelimits.locked_hits(session, self.kind, _key(key), now)
            await ratelimits.save_hits(session, self.kind, _key(key), [], now)
