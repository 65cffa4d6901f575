"""The bot's handle on the store: engine, sessions, and the schema check at start."""
from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncSession

from db import migrate
from db.engine import make_engine, make_sessionmaker


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = make_sessionmaker(self.engine)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error."""
        async with self.sessions() as session, session.begin():
            yield session

    async def ensure_schema(self, *, upgrade: bool = True) -> None:
        """Upgrade to the newest migration, or (upgrade=False) refuse clearly if not there."""
        if upgrade:
            await migrate.upgrade_async(self.url)
            return
        current, head = await migrate.current_revision(self.url), migrate.head_revision(self.url)
        if current != head:
            raise migrate.SchemaOutdated(
                f"The database is at migration {current or 'none'}, the code needs {head}. "
                "Run `figment db upgrade` first."
            )

    async def close(self) -> None:
        await self.engine.dispose()
