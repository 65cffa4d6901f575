"""A real PostgreSQL for tests: FIGMENT_TEST_POSTGRES_URL (`make test` starts one where it can);
tests skip when none is reachable."""
from __future__ import annotations

import os

import pytest
from sqlalchemy import text

from db.engine import make_engine

URL = os.environ.get("FIGMENT_TEST_POSTGRES_URL", "postgresql+asyncpg://figment:figment@127.0.0.1/figment_test")


async def _reachable() -> bool:
    engine = make_engine(URL)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
    finally:
        await engine.dispose()


async def fresh_postgres() -> str:
    """The test database's URL with a fresh, empty schema (skips the test without a server)."""
    pytest.importorskip("asyncpg")
    if not await _reachable():
        pytest.skip(f"no PostgreSQL server at {URL}")
    engine = make_engine(URL)
    async with engine.begin() as connection:
        await connection.execute(text("DROP SCHEMA public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    await engine.dispose()
    return URL
