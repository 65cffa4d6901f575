"""Faults injected at the real database layer: SQLite functions called from triggers.

A trigger calls a Python function registered on every connection of the bot's engine, so a test
can make one statement slow, or make it meet a constraint as if another process had raced it,
without touching the code under test.
"""
from __future__ import annotations

import time
from typing import Callable

from sqlalchemy import event, text

from db.database import Database


async def install(db: Database, name: str, function: Callable[[], int], trigger_sql: str) -> None:
    """Register `function` as SQL function `name()` on every connection, then create the trigger."""

    @event.listens_for(db.engine.sync_engine, "connect")
    def _register(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.create_function(name, 0, function)

    await db.engine.dispose()  # pooled connections were made before the function existed
    async with db.transaction() as session:
        await session.execute(text(trigger_sql))


class RaceTimes:
    """True (a raced constraint) for the first `times` calls, then False."""

    def __init__(self, times: int) -> None:
        self.left = times

    def __call__(self) -> int:
        self.left -= 1
        return int(self.left >= 0)


async def race_on_insert(db: Database, table: str, times: int) -> RaceTimes:
    """The next `times` inserts into `table` fail as a unique constraint would when another
    process inserted the same row first."""
    races = RaceTimes(times)
    await install(db, "raced", races, f"""
        CREATE TRIGGER race_{table} BEFORE INSERT ON {table} WHEN raced()
        BEGIN SELECT RAISE(ABORT, 'UNIQUE constraint failed: {table} (raced by another process)'); END""")
    return races


async def slow_inserts(db: Database, table: str, seconds: float) -> None:
    """Every insert into `table` holds the database for `seconds` (a slow disk, a long lock)."""
    def slow() -> int:
        time.sleep(seconds)
        return 0

    await install(db, "slow_write", slow, f"""
        CREATE TRIGGER slow_{table} BEFORE INSERT ON {table} WHEN slow_write()
        BEGIN SELECT 1; END""")


async def slow_statement(db: Database, table: str, seconds: float, on: str = "INSERT") -> None:
    """Every INSERT (or DELETE, UPDATE) on `table` holds the database for `seconds`."""
    def slow() -> int:
        time.sleep(seconds)
        return 0

    name = f"slow_{on.lower()}_{table}"
    await install(db, name, slow, f"""
        CREATE TRIGGER {name} BEFORE {on} ON {table} WHEN {name}()
        BEGIN SELECT 1; END""")


async def pg_fail_statements(db: Database, table: str, sqlstate: str, times: int, on: str = "INSERT") -> str:
    """PostgreSQL: the next `times` INSERTs (or UPDATEs, DELETEs) on `table` fail in the server
    with `sqlstate` (40P01 a deadlock, 40001 a serialization failure), so asyncpg raises its real
    exception for that state. A sequence counts the statements: unlike a table, it is not rolled
    back with them. Returns the sequence's name (see pg_statements_seen)."""
    name = f"fault_{on.lower()}_{table}"
    async with db.transaction() as session:
        await session.execute(text(f"CREATE SEQUENCE {name}_seen"))
        await session.execute(text(f"""
            CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF nextval('{name}_seen') <= {times} THEN
                    RAISE EXCEPTION 'injected: state {sqlstate} on {table}' USING ERRCODE = '{sqlstate}';
                END IF;
                RETURN NULL;
            END $$"""))
        await session.execute(text(f"CREATE TRIGGER {name} BEFORE {on} ON {table} "
                                   f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()"))
    return f"{name}_seen"


async def pg_statements_seen(db: Database, sequence: str) -> int:
    """How many statements reached a pg_fail_statements trigger (failed or not)."""
    async with db.transaction() as session:
        value, called = (await session.execute(text(f"SELECT last_value, is_called FROM {sequence}"))).one()
    return int(value) if called else 0
