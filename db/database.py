"""The store's handle for the bot: engine, sessions, retries on a race, the schema check at start."""
from __future__ import annotations

import asyncio
import logging
from contextlib import AsyncExitStack, asynccontextmanager
from typing import AsyncIterator, Awaitable, Callable, TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from db import backups, migrate
from db.engine import is_sqlite, make_engine, make_sessionmaker

log = logging.getLogger(__name__)
T = TypeVar("T")
RACE_RETRIES = 5
# PostgreSQL's "try again" states: deadlock_detected and serialization_failure.
RETRY_SQLSTATES = frozenset({"40P01", "40001"})


def met_another_writer(error: BaseException) -> bool:
    """Did a transaction fail only because another one wrote the same rows at the same time, so
    that running it again succeeds? A constraint another writer met first, a deadlock or a
    serialization failure (PostgreSQL), or a lock SQLite's busy timeout gave up on."""
    if isinstance(error, IntegrityError):
        return True
    if isinstance(error, DBAPIError):
        code = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
        if code in RETRY_SQLSTATES:
            return True
        return isinstance(error, OperationalError) and "database is locked" in str(error.orig)
    return False


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = make_sessionmaker(self.engine)
        # SQLite has one writer at a time and every transaction takes the write lock at BEGIN.
        # Queueing here is fair and instant; contending connections would sleep in SQLite's
        # busy handler (up to 100 ms a try) instead. Other processes still meet busy_timeout.
        self._write_lock = asyncio.Lock() if is_sqlite(url) else None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error."""
        async with AsyncExitStack() as stack:
            if self._write_lock is not None:
                await stack.enter_async_context(self._write_lock)
            session = await stack.enter_async_context(self.sessions())
            await stack.enter_async_context(session.begin())
            yield session

    @staticmethod
    async def retrying(work: Callable[[], Awaitable[T]], what: str, attempts: int = RACE_RETRIES) -> T:
        """Await work() (one transaction); if it met another process's writes (see
        met_another_writer: a new player's score row written first, a deadlock), run it again: it
        then reads what the other wrote."""
        for attempt in range(1, attempts):
            try:
                return await work()
            except DBAPIError as error:
                if not met_another_writer(error):
                    raise
                log.info("%s met a concurrent write (%s); retry %d", what, error.orig, attempt)
                await asyncio.sleep(0.01 * attempt)
        return await work()

    async def ensure_schema(self, *, upgrade: bool = True) -> None:
        """Upgrade to the newest migration, or (upgrade=False) refuse clearly if not there."""
        if upgrade:
            backup = await migrate.upgrade_with_backup_async(self.url)
            if backup is not None:
                log.info("the database was backed up to %s before its upgrade to migration %s; "
                         "`figment db restore %s` puts it back%s", backup, migrate.head_revision(self.url), backup,
                         backups.pile_note(backups.sqlite_file(self.url) or backup))
            return
        current, head = await migrate.current_revision(self.url), migrate.head_revision(self.url)
        if current != head:
            raise migrate.SchemaOutdated(
                f"The database is at migration {current or 'none'}, the code needs {head}. "
                "Run `figment db upgrade` first."
            )

    async def close(self) -> None:
        await self.engine.dispose()
