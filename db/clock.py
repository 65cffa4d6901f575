"""The database's clock: the one clock every process on a database shares.

Leases and a round's close are decided across processes, so they read the time here, never from
the process: a process whose clock runs ahead would otherwise take live games, and a worker
whose clock runs ahead would refuse answers given in time. On SQLite every process runs on the
file's machine, whose clock SQLite reads itself; on PostgreSQL the server's clock decides.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

# SQLite's 'now' with milliseconds, in the layout SQLAlchemy stores its datetimes in.
_SQLITE_NOW = text("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')")


async def db_now(session: AsyncSession) -> datetime:
    """The database's current time (aware UTC). clock_timestamp() on PostgreSQL: the time of
    this read, not of the transaction's start, which may have waited for a lock."""
    if session.get_bind().dialect.name == "sqlite":
        stamp = (await session.execute(_SQLITE_NOW)).scalar_one()
        return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=timezone.utc)
    now = (await session.execute(select(func.clock_timestamp()))).scalar_one()
    return now if now.tzinfo else now.replace(tzinfo=timezone.utc)
