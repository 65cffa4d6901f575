"""A fresh, empty PostgreSQL database per test, next to the one FIGMENT_TEST_POSTGRES_URL names.

Tests with several bot processes need a database no other test touches, migrated by the bots
themselves; it is named after the configured one (figment_test -> figment_test_<what>_<random>)
and dropped afterwards, even with connections of a killed process still open.
"""
from __future__ import annotations

import importlib.util
import os
import secrets
from contextlib import asynccontextmanager
from typing import AsyncIterator

from sqlalchemy import text
from sqlalchemy.engine import make_url

from db.engine import make_engine

BASE_URL = os.environ.get("FIGMENT_TEST_POSTGRES_URL", "postgresql+asyncpg://figment:figment@127.0.0.1/figment_test")


async def reachable(url: str = BASE_URL) -> bool:
    if importlib.util.find_spec("asyncpg") is None:  # the postgres extra is not installed
        return False
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
    finally:
        await engine.dispose()


@asynccontextmanager
async def fresh_database(what: str, base_url: str = BASE_URL) -> AsyncIterator[str]:
    """Create an empty database; yields its SQLAlchemy URL (password included, for child processes)."""
    import asyncpg

    base = make_url(base_url)
    name = f"{base.database}_{what}_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(user=base.username, password=base.password, host=base.host or "127.0.0.1",
                                  port=base.port or 5432, database=base.database)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield base.set(database=name).render_as_string(hide_password=False)
        finally:
            await _drop(admin, name)
    finally:
        await admin.close()


async def _drop(admin, name: str) -> None:  # type: ignore[no-untyped-def]
    """Drop a test database. FORCE ends our connections, but not an autovacuum worker that just
    started on it (a superuser's): that one is gone within moments, so try again."""
    import asyncio

    import asyncpg

    for attempt in range(20):
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except (asyncpg.exceptions.InsufficientPrivilegeError, asyncpg.exceptions.ObjectInUseError):
            if attempt == 19:
                raise
            await asyncio.sleep(0.25)


async def fresh_schema(url: str = BASE_URL) -> str:
    """The test database's URL with a fresh, empty schema (skips the test without a server):
    for tests in one process, which share the configured database one after another."""
    import pytest

    if not await reachable(url):
        pytest.skip(f"no PostgreSQL server at {make_url(url).render_as_string(hide_password=True)}")
    engine = make_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text("DROP SCHEMA public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    await engine.dispose()
    return url
