"""Bring a database to the newest schema with Alembic, and tell whether one is there."""
from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError

import migrations
from db import backups
from db.engine import make_engine

MIGRATIONS_DIR = Path(migrations.__file__).parent


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision(url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def script_revision(url: str, revision: str) -> str:
    """`revision` as a known migration id; alembic.util.CommandError if this code has no such one."""
    script = ScriptDirectory.from_config(alembic_config(url)).get_revision(revision)
    if script is None:
        raise CommandError(f"no migration {revision}")
    return script.revision


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


def back_up_before_migrating(url: str, revision: str = "head") -> Path | None:
    """Copy a SQLite store beside itself before a migration changes it; the copy's path, or None
    when there is nothing to keep (PostgreSQL, no file, an empty file, already at `revision`)."""
    path = backups.sqlite_file(url)
    if path is None:
        return None
    has_tables, current = backups.schema_revision(path)
    target = head_revision(url) if revision == "head" else revision
    if not has_tables or current == target:
        return None
    return backups.back_up(path, current)


def upgrade_with_backup(url: str, revision: str = "head") -> Path | None:
    """Back the store up if the upgrade will change it, then upgrade; the backup's path or None."""
    backup = back_up_before_migrating(url, revision)
    upgrade(url, revision)
    return backup


async def current_revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())
    finally:
        await engine.dispose()


class SchemaOutdated(RuntimeError):
    """The database is not at the newest migration."""


async def upgrade_async(url: str) -> None:
    # Alembic's env runs its own event loop; keep it off the caller's.
    await asyncio.to_thread(upgrade, url)


async def upgrade_with_backup_async(url: str) -> Path | None:
    return await asyncio.to_thread(upgrade_with_backup, url)
