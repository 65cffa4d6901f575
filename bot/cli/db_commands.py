"""`figment db ...`: schema migrations."""
from __future__ import annotations

import asyncio

import typer

from bot.cli.common import console, fail, settings
from db import migrate

app = typer.Typer(help="Database schema: upgrade, downgrade, current.", no_args_is_help=True)


@app.command()
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Bring the database to the newest schema (or REVISION)."""
    url = settings().db_url
    try:
        migrate.upgrade(url, revision)
    except Exception as error:
        fail(f"upgrade failed: {error}")
    console.print(f"database at {asyncio.run(migrate.current_revision(url))}")


@app.command()
def downgrade(revision: str = typer.Argument(..., help="Target revision, e.g. base or -1.")) -> None:
    """Step the schema back to REVISION."""
    url = settings().db_url
    try:
        migrate.downgrade(url, revision)
    except Exception as error:
        fail(f"downgrade failed: {error}")
    console.print(f"database at {asyncio.run(migrate.current_revision(url))}")


@app.command()
def current() -> None:
    """Show the database's revision and the newest one."""
    url = settings().db_url
    console.print(f"current {asyncio.run(migrate.current_revision(url))}, head {migrate.head_revision(url)}")
