"""Platform updates claimed and handled, shared by every bot process on the database.

An update is claimed when its handling starts, its claim is refreshed (a heartbeat) while the
handler runs, and it is marked done when the handler ends. A delivery of an update claimed before
is refused while the claim is fresh (another process is handling it: the platform must send it
again later) and ignored once it is done. A claim that went unrefreshed for longer than the claim
timeout was left by a process that died mid-way: the next delivery takes it over.

Claim ages are read on the database's clock, never a process's: two workers whose clocks differ
by seconds would otherwise both think the other's claim fresh, or stale.
"""
from __future__ import annotations

import enum
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import SeenUpdate

KEEP = timedelta(days=2)  # Telegram gives up redelivering an update after 24 hours
STALE = timedelta(seconds=30)  # a claim unrefreshed this long was left by a dead process


class Claim(enum.Enum):
    TAKEN = "taken"  # claimed here: handle it, refresh the claim, then finish it
    DONE = "done"  # handled to the end before: nothing to do
    BUSY = "busy"  # claimed by a live process and not finished: ask for it again later


async def db_now(session: AsyncSession) -> datetime:
    """The database's clock (UTC). SQLite's CURRENT_TIMESTAMP has whole seconds only: its
    strftime('%f') gives milliseconds."""
    if session.get_bind().dialect.name == "sqlite":
        text = (await session.execute(select(func.strftime("%Y-%m-%d %H:%M:%f", "now")))).scalar_one()
        return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)
    value = (await session.execute(select(func.now()))).scalar_one()
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _row(platform: str, update_id: str):  # type: ignore[no-untyped-def]
    return (SeenUpdate.platform == platform, SeenUpdate.update_id == update_id)


async def claim(session: AsyncSession, platform: str, update_id: str, stale: timedelta = STALE) -> Claim:
    """Claim the update for handling here, or say why not."""
    now = await db_now(session)
    try:
        async with session.begin_nested():
            session.add(SeenUpdate(platform=platform, update_id=update_id, seen_at=now))
        return Claim.TAKEN
    except IntegrityError:
        pass
    # One conditional UPDATE: of two processes taking over the same dead claim, one wins.
    taken = await session.execute(update(SeenUpdate).where(*_row(platform, update_id), SeenUpdate.done.is_(False),
                                                           SeenUpdate.seen_at < now - stale).values(seen_at=now))
    if taken.rowcount == 1:
        return Claim.TAKEN
    done = (await session.execute(select(SeenUpdate.done).where(*_row(platform, update_id)))).scalar_one_or_none()
    return Claim.DONE if done else Claim.BUSY


async def refresh(session: AsyncSession, platform: str, update_id: str) -> None:
    """The heartbeat of a claim whose handler still runs: it stays fresh for another timeout."""
    now = await db_now(session)
    await session.execute(update(SeenUpdate).where(*_row(platform, update_id), SeenUpdate.done.is_(False))
                          .values(seen_at=now))


async def finish(session: AsyncSession, platform: str, update_id: str) -> None:
    await session.execute(update(SeenUpdate).where(*_row(platform, update_id)).values(done=True))


async def forget_old(session: AsyncSession, keep: timedelta = KEEP) -> int:
    """Forget updates no platform redelivers any more."""
    result = await session.execute(delete(SeenUpdate).where(SeenUpdate.seen_at < await db_now(session) - keep))
    return result.rowcount
