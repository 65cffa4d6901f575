"""What `/readyz` checks (bot.ops.server serves it, beside `/livez` and `/metrics`).

Ready means this process can play: its database answers a short query in time, every chat
platform it runs is connected (the front-ends report a probe once they receive updates), and the
face pool the quiz draws from holds at least one face. Each check says "ok" or what is wrong, so a
503 names what is not ready. The core stays platform-free: a front-end hands in a plain function.
"""
from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.faces import face_pool
from db.engine import is_sqlite
from generator.interface import GeneratorError

if TYPE_CHECKING:
    from bot.app import Figment

OK = "ok"
# A ready database answers this in milliseconds; one that needs longer is stuck (locked, a dead
# network path), and a probe must answer well within a load balancer's own timeout.
DB_TIMEOUT = 2.0
FACES_TIMEOUT = 2.0  # a shared generator's /health, asked when this process keeps no pool
# The migrations' version table: present in every Figment database, absent from an empty file
# that SQLite would make where the real one went missing.
SCHEMA_QUERY = "SELECT version_num FROM alembic_version"

Probe = Callable[[], "str | None"]  # None: connected; else what is wrong


class Readiness:
    """The checks behind /readyz. The runner fills it in as the process starts: the core once it
    is open, each platform once its front-end receives updates."""

    def __init__(self, platforms: Iterable[str] = (), *, db_timeout: float = DB_TIMEOUT) -> None:
        self.figment: Figment | None = None
        self.db_timeout = db_timeout
        self._platforms: dict[str, Probe | None] = {platform: None for platform in platforms}

    def connected(self, platform: str, probe: Probe) -> None:
        """The front-end of `platform` is up; probe() tells, at each check, whether it still is."""
        self._platforms[platform] = probe

    def disconnected(self, platform: str) -> None:
        self._platforms[platform] = None

    async def check(self) -> tuple[bool, dict[str, str]]:
        """(ready, {check: "ok" or what is wrong}); the checks run concurrently."""
        figment = self.figment
        checks: dict[str, str] = {}
        if figment is None:
            checks["core"] = "not open (starting or stopping)"
        else:
            checks["database"], checks["faces"] = await asyncio.gather(self._database(figment), self._faces(figment))
        for platform, probe in self._platforms.items():
            checks[platform] = "not connected yet" if probe is None else (_probe(probe) or OK)
        return all(value == OK for value in checks.values()), checks

    async def _database(self, figment: Figment) -> str:
        url = figment.db.url
        path = make_url(url).database if is_sqlite(url) else None
        if is_sqlite(url) and (not path or path == ":memory:"):
            return OK  # lives in this process: nothing to reach
        try:
            async with asyncio.timeout(self.db_timeout):
                if path:
                    # A connection of its own, reading outside a transaction: the bot's engine begins
                    # every transaction with the write lock, which a probe must never wait for.
                    await asyncio.to_thread(_sqlite_schema, path, self.db_timeout)
                else:
                    async with figment.db.engine.connect() as connection:
                        await connection.execute(text(SCHEMA_QUERY))
        except (TimeoutError, asyncio.TimeoutError):
            return f"no answer within {self.db_timeout:g} s"
        except Exception as error:  # any driver's error: the probe reports, never raises
            return f"unreachable: {_first_line(error)}"
        return OK

    async def _faces(self, figment: Figment) -> str:
        try:
            async with asyncio.timeout(FACES_TIMEOUT):
                levels = await face_pool(figment.curated, figment.source)
        except (TimeoutError, asyncio.TimeoutError, GeneratorError) as error:
            return f"generator unavailable: {_first_line(error) or 'no answer'}"
        if levels is None or not levels:
            return OK  # no pool kept: each face is made when asked
        if sum(levels.values()) == 0:
            return "no face ready in the pool yet"
        return OK


def _sqlite_schema(path: str, timeout: float) -> None:
    # mode=rw: a missing file is an error, not a new empty database. The busy timeout ends the
    # thread on its own when a lock holds it up.
    connection = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=rw", uri=True, timeout=timeout,
                                 isolation_level=None)
    try:
        connection.execute(SCHEMA_QUERY).fetchone()
    finally:
        connection.close()


def _probe(probe: Probe) -> str | None:
    try:
        return probe()
    except Exception as error:  # a probe that breaks is a platform we cannot vouch for
        return f"unknown: {_first_line(error)}"


def _first_line(error: BaseException) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0][:200]
