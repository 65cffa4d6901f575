"""Alembic environment, async-aware. The URL comes from the Config that db/migrate.py builds."""
from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

from db.engine import make_engine
from db.models import Base

config = context.config
target_metadata = Base.metadata
# Several bot processes may start at once on one PostgreSQL: the first migrates, the others wait
# on this lock (held to the end of the migration's transaction), then find the schema at head.
MIGRATION_LOCK = 0x46494D47  # "FIMG"


def _run(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        _run_sqlite(connection)
        return
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        context.run_migrations()


def _run_sqlite(connection: Connection) -> None:
    """SQLite alters a table in batch mode: copy it, DROP the old one, rename the copy. With foreign
    keys on, that DROP cascades (ON DELETE CASCADE empties the child tables), so the migrations run
    with them off and are checked afterwards, as SQLite's own ALTER TABLE recipe does. The pragma is a
    no-op inside a transaction, so it is set before Alembic begins one."""
    _set_foreign_keys(connection, on=False)
    try:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,  # SQLite needs batch mode to alter tables
            compare_type=True,
            # SQLite's DDL is transactional: all the steps commit together, after the check below,
            # or none does (Alembic would otherwise commit each revision on its own).
            transactional_ddl=True,
        )
        with context.begin_transaction():
            context.run_migrations()
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:  # raising here rolls the whole migration back
                raise RuntimeError(f"migration left rows pointing at missing rows: {broken[:5]}")
    finally:
        _set_foreign_keys(connection, on=True)  # the bot's cascades (/forgetme ...) rely on them


def _set_foreign_keys(connection: Connection, *, on: bool) -> None:
    # On the driver's connection: a SQLAlchemy execute would begin a transaction first.
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
        cursor.execute("PRAGMA foreign_keys")
        (state,) = cursor.fetchone()
    finally:
        cursor.close()
    if bool(state) != on:
        raise RuntimeError("cannot switch SQLite foreign keys inside a transaction: "
                           "migrate on a connection that has none open")


async def _run_async() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
    else:
        asyncio.run(_run_async())
