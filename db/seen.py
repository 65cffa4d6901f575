"""Platform updates already handled, shared by every bot process on the database."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import SeenUpdate

KEEP = timedelta(days=2)  # Telegram gives up redelivering an update after 24 hours


async def mark_seen(session: AsyncSession, platform: str, update_id: str) -> bool:
    """Record the update; False if some process recorded it before."""
    try:
        async with session.begin_nested():
            session.add(SeenUpdate(platform=platform, update_id=update_id))
        return True
    except IntegrityError:
        return False


async def forget_before(session: AsyncSession, when: datetime) -> int:
    result = await session.execute(delete(SeenUpdate).where(SeenUpdate.seen_at < when))
    return result.rowcount
