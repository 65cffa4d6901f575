"""The bot's handle on the store: engine, sessions, and the schema check at start."""
from __future__ import annotations

import asyncio
import logging
from contextlib import AsyncExitStack, asynccontextmanager
from typing import AsyncIterator, Awaitable, Callable, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db import backups, migrate
from db.engine import is_sqlite, make_engine, make_sessionmaker

log = logging.getLogger(__name__)
T = TypeVar("T")
RACE_RETRIES = 5


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
        """Await work() (one transaction); if a constraint fails because another process wrote the
        same row first (a new player's score row, ...), run it again: it then reads that row."""
        for attempt in range(1, attempts):
            try:
                return await work()
            except IntegrityError as error:
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
