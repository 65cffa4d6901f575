"""`figment db ...`: schema migrations, and the backups taken before them."""
from __future__ import annotations

import asyncio
from pathlib import Path

import typer
from alembic.util import CommandError

from bot.cli.common import console, fail, settings
from db import backups, migrate

app = typer.Typer(help="Database schema: upgrade, downgrade, current, restore.", no_args_is_help=True)


def _back_up(url: str, revision: str) -> Path | None:
    try:
        backup = migrate.back_up_before_migrating(url, revision)
    except Exception as error:
        fail(f"could not back the database up, so it was left as it is: {error}")
    if backup is not None:
        note = backups.pile_note(backups.sqlite_file(url) or backup)
        console.print(f"backed up the database to {backup}{note}", highlight=False, soft_wrap=True)
    return backup


@app.command()
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Bring the database to the newest schema (or REVISION). A SQLite file is copied beside itself first."""
    url = settings().db_url
    backup = _back_up(url, revision)
    try:
        migrate.upgrade(url, revision)
    except Exception as error:
        fail(f"upgrade failed, the database is as it was: {error}")
    console.print(f"database at {asyncio.run(migrate.current_revision(url))}")
    if backup is not None:
        console.print(f"to go back: figment db restore {backup}", highlight=False, soft_wrap=True)


@app.command()
def downgrade(revision: str = typer.Argument(..., help="Target revision, e.g. base or -1.")) -> None:
    """Step the schema back to REVISION (what later migrations added goes). A SQLite file is copied first."""
    url = settings().db_url
    _back_up(url, revision)
    try:
        migrate.downgrade(url, revision)
    except Exception as error:
        fail(f"downgrade failed, the database is as it was: {error}")
    console.print(f"database at {asyncio.run(migrate.current_revision(url))}")


@app.command()
def current() -> None:
    """Show the database's revision and the newest one."""
    url = settings().db_url
    console.print(f"current {asyncio.run(migrate.current_revision(url))}, head {migrate.head_revision(url)}")


@app.command()
def restore(
    backup: Path = typer.Argument(..., help="A backup file, e.g. figment.db.backup-20261205-195100-0002."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
) -> None:
    """Put a backup back in place of the SQLite database. Stop `figment run` and `figment demo` first."""
    url = settings().db_url
    target = backups.sqlite_file(url)
    if target is None:
        fail("restore puts back a SQLite file; this database is not one (for PostgreSQL use pg_restore "
             "with a pg_dump)")
    try:
        revision = backups.restorable_revision(backup)
        migrate.script_revision(url, revision)
    except backups.NotARestorableFile as error:
        fail(f"cannot restore {error}; nothing was changed")
    except CommandError:
        fail(f"cannot restore {backup}: it is at migration {revision}, which this Figment does not know "
             f"(newest {migrate.head_revision(url)}); nothing was changed")
    if not yes:
        console.print("Stop every `figment run` and `figment demo` using this database first: a running bot "
                      "keeps writing to it.", highlight=False)
        typer.confirm(f"Replace {target} with {backup} (migration {revision})?", abort=True)
    try:
        kept = backups.restore(backup, target)
    except backups.NotARestorableFile as error:
        fail(f"cannot restore {error}; nothing was changed")
    except Exception as error:
        fail(f"restore failed: {error}")
    if kept is not None:
        console.print(f"the database replaced is kept at {kept}", highlight=False, soft_wrap=True)
    console.print(f"restored {target} from {backup} (migration {revision}); start the bot as usual, it upgrades "
                  f"to {migrate.head_revision(url)} at start", highlight=False, soft_wrap=True)
