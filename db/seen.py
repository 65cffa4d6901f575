"""Platform updates claimed and handled, shared by every bot process on the database.

An update is claimed when its handling starts and marked done when it ends. A delivery of an
update claimed before is ignored, unless that claim was never finished and is older than
STALE: its process died mid-way (it had not answered the platform, which so sent it again).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import SeenUpdate

KEEP = timedelta(days=2)  # Telegram gives up redelivering an update after 24 hours
STALE = timedelta(seconds=30)  # far longer than a handler takes; sooner than Telegram's later retries


async def claim(session: AsyncSession, platform: str, update_id: str, now: datetime) -> bool:
    """Claim the update for handling: False if it is handled, or being handled, elsewhere."""
    try:
        async with session.begin_nested():
            session.add(SeenUpdate(platform=platform, update_id=update_id, seen_at=now))
        return True
    except IntegrityError:
        result = await session.execute(
            update(SeenUpdate).where(SeenUpdate.platform == platform, SeenUpdate.update_id == update_id,
                                     SeenUpdate.done.is_(False), SeenUpdate.seen_at < now - STALE)
            .values(seen_at=now))
        return result.rowcount == 1


async def finish(session: AsyncSession, platform: str, update_id: str) -> None:
    await session.execute(update(SeenUpdate).where(SeenUpdate.platform == platform,
                                                   SeenUpdate.update_id == update_id).values(done=True))


async def forget_before(session: AsyncSession, when: datetime) -> int:
    result = await session.execute(delete(SeenUpdate).where(SeenUpdate.seen_at < when))
    return result.rowcount
