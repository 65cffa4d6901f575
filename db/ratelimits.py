"""Rate-limit windows shared by every bot process: one row per (kind, user) of recent hit times."""
from __future__ import annotations

import random

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import RateLimitHits

FORGET_AFTER = 120.0  # seconds: a window this old holds no hit that still counts


async def locked_hits(session: AsyncSession, kind: str, key: str, now: float) -> list[float]:
    """The user's hit times, with the row locked until the transaction ends (made if missing)."""
    query = select(RateLimitHits).where(RateLimitHits.kind == kind, RateLimitHits.key == key).with_for_update()
    row = (await session.execute(query)).scalar_one_or_none()
    if row is None:
        try:
            async with session.begin_nested():
                session.add(RateLimitHits(kind=kind, key=key, hits="", touched_at=now))
        except IntegrityError:  # another process made it first: lock theirs
            pass
        row = (await session.execute(query.execution_options(populate_existing=True))).scalar_one()
    return [float(t) for t in row.hits.split(",") if t]


async def save_hits(session: AsyncSession, kind: str, key: str, hits: list[float], now: float) -> None:
    row = await session.get(RateLimitHits, (kind, key))
    assert row is not None
    row.hits, row.touched_at = ",".join(f"{t:.3f}" for t in hits), now
    if random.random() < 0.01:  # now and then, forget users idle for a while (keeps the table small)
        await session.execute(delete(RateLimitHits).where(RateLimitHits.touched_at < now - FORGET_AFTER))
