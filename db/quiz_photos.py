"""The real photos the quiz draws from: the held-out split of the chosen packs."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import RealPhoto


async def count_quiz_photos(session: AsyncSession, packs: list[str]) -> int:
    query = select(func.count()).select_from(RealPhoto).where(RealPhoto.split == "heldout")
    if packs:
        query = query.where(RealPhoto.pack.in_(packs))
    return int((await session.execute(query)).scalar_one())


async def quiz_photo_at(session: AsyncSession, packs: list[str], index: int) -> RealPhoto | None:
    """The index-th held-out photo (by id) of the given packs: pick index at random for a random photo."""
    query = select(RealPhoto).where(RealPhoto.split == "heldout").order_by(RealPhoto.id).offset(index).limit(1)
    if packs:
        query = query.where(RealPhoto.pack.in_(packs))
    return (await session.execute(query)).scalar_one_or_none()
