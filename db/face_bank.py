"""The face bank's rows: recipes of the most convincing faces (seed, truncation, mode, score).

Several bot processes share one bank. Adding is an insert that skips a recipe already there; a
claim is one conditional UPDATE (shown = what we read, and below the limit), so two processes
never both take a face's last showing, on SQLite and on PostgreSQL. The bank of each (model
version, truncation) is kept to its capacity by dropping its lowest scores and the faces shown
their last time; rows of other model versions are left as they are (ignored, not deleted).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.clock import db_now
from db.models import FaceBankEntry

CLAIM_LOOKAHEAD = 8  # rows read per claim try: another process may take the first ones meanwhile
CLAIM_TRIES = 5


@dataclass(frozen=True)
class Recipe:
    """How to make a face again, and how convincing the critic found it."""

    seed: int
    psi: float
    mode: str
    score: float


@dataclass(frozen=True)
class BankedFace:
    id: int
    seed: int
    psi: float
    mode: str
    score: float
    shown: int  # times shown, this claim included


async def add(session: AsyncSession, model_version: str, recipes: Sequence[Recipe]) -> None:
    """Insert recipes; one already in the bank (same model, seed, psi and mode) is skipped."""
    if not recipes:
        return
    now = await db_now(session)
    rows = [dict(model_version=model_version, seed=r.seed, psi=r.psi, mode=r.mode, score=r.score, shown=0,
                 created_at=now) for r in recipes]
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    await session.execute(insert(FaceBankEntry).values(rows).on_conflict_do_nothing())


async def prune(session: AsyncSession, model_version: str, psi: float, capacity: int, max_shows: int) -> None:
    """Keep the bank of one model version and truncation to `capacity` faces still showable:
    faces shown `max_shows` times go, then the lowest scores beyond the capacity."""
    mine = (FaceBankEntry.model_version == model_version, FaceBankEntry.psi == psi)
    await session.execute(delete(FaceBankEntry).where(*mine, FaceBankEntry.shown >= max_shows))
    keep = (select(FaceBankEntry.id).where(*mine)
            .order_by(FaceBankEntry.score.desc(), FaceBankEntry.id).limit(capacity))
    await session.execute(delete(FaceBankEntry).where(*mine, FaceBankEntry.id.not_in(keep)))


async def present(session: AsyncSession, model_version: str, recipes: Sequence[Recipe]) -> int:
    """How many of these recipes are in the bank now (after a prune: how many were kept)."""
    if not recipes:
        return 0
    psis = {r.psi for r in recipes}
    rows = (await session.execute(
        select(FaceBankEntry.seed, FaceBankEntry.psi, FaceBankEntry.mode)
        .where(FaceBankEntry.model_version == model_version, FaceBankEntry.psi.in_(psis),
               FaceBankEntry.seed.in_([r.seed for r in recipes])))).all()
    found = {(int(seed), float(psi), str(mode)) for seed, psi, mode in rows}
    return sum((r.seed, r.psi, r.mode) in found for r in recipes)


async def cutoff(session: AsyncSession, model_version: str, psi: float, capacity: int) -> float | None:
    """The score a new face must beat to enter a full bank; None while the bank has room."""
    query = (select(FaceBankEntry.score)
             .where(FaceBankEntry.model_version == model_version, FaceBankEntry.psi == psi)
             .order_by(FaceBankEntry.score.desc(), FaceBankEntry.id).offset(capacity - 1).limit(1))
    return (await session.execute(query)).scalar_one_or_none()


async def claim(session: AsyncSession, model_version: str, psi: float, max_shows: int) -> BankedFace | None:
    """Take the next face to show: the least shown, then the best score (then the oldest row), below
    `max_shows`. One conditional UPDATE per try, so a showing is never handed out twice. None: empty."""
    mine = (FaceBankEntry.model_version == model_version, FaceBankEntry.psi == psi,
            FaceBankEntry.shown < max_shows)
    order = (FaceBankEntry.shown, FaceBankEntry.score.desc(), FaceBankEntry.id)
    for _ in range(CLAIM_TRIES):
        rows = (await session.execute(select(FaceBankEntry).where(*mine).order_by(*order)
                                      .limit(CLAIM_LOOKAHEAD))).scalars().all()
        if not rows:
            return None
        now: datetime = await db_now(session)
        for row in rows:
            shown = row.shown
            taken = await session.execute(
                update(FaceBankEntry).where(FaceBankEntry.id == row.id, FaceBankEntry.shown == shown)
                .values(shown=shown + 1, last_shown_at=now).execution_options(synchronize_session=False))
            if taken.rowcount == 1:
                return BankedFace(row.id, int(row.seed), float(row.psi), row.mode, float(row.score), shown + 1)
        session.expire_all()  # every row we read was taken meanwhile: read again
    return None


@dataclass(frozen=True)
class Level:
    faces: int  # faces that can still be shown
    showings: int  # showings left in them
    best: float | None
    worst: float | None


async def levels(session: AsyncSession, model_version: str, max_shows: int) -> dict[float, Level]:
    """Per truncation: faces still showable, the showings left, the best and worst scores."""
    query = (select(FaceBankEntry.psi, func.count(), func.sum(max_shows - FaceBankEntry.shown),
                    func.max(FaceBankEntry.score), func.min(FaceBankEntry.score))
             .where(FaceBankEntry.model_version == model_version, FaceBankEntry.shown < max_shows)
             .group_by(FaceBankEntry.psi))
    return {float(psi): Level(int(count), int(left or 0), best, worst)
            for psi, count, left, best, worst in (await session.execute(query)).all()}
