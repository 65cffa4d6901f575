"""`figment discord ...`: the Discord side an operator manages by hand."""
from __future__ import annotations

import asyncio
from typing import Optional
from urllib.parse import parse_qs, urlsplit

import aiohttp
import discord
import typer

from bot import texts
from bot.cli.common import console, fail, settings
from bot.discord_app import DiscordStartError, sync_now, user_install_url
from bot.discord_app.sync import RECORD_FILE

app = typer.Typer(help="Discord: sync the slash commands, show the invite link.", no_args_is_help=True)


@app.command()
def sync(
    guild: Optional[int] = typer.Option(None, help="Sync to this server only (default FIGMENT_DISCORD_TEST_GUILD)."),
    everywhere: bool = typer.Option(False, "--global", help="Sync globally even when a test server is configured."),
) -> None:
    """Sync the slash commands with Discord now, and print both install links (server, user).

    `figment run` syncs by itself when the command set changed; use this after changing the
    application on Discord's side, or to move between a test server and global commands."""
    config = settings()
    if config.discord_token is None:
        fail("FIGMENT_DISCORD_TOKEN is not set: copy the token from the Bot page of your Discord "
             "application into the environment or .env.")
    target = None if everywhere else (guild if guild is not None else config.discord_test_guild)
    try:
        _, invite = asyncio.run(sync_now(config.discord_token.get_secret_value(), guild_id=target,
                                         record_path=config.data_dir / RECORD_FILE,
                                         base_url=config.discord_api_url))
    except DiscordStartError as error:
        fail(str(error))
    except discord.Forbidden:
        fail(f"Discord refused: is the bot in server {target}, invited with the applications.commands scope?")
    except (discord.HTTPException, aiohttp.ClientError, OSError) as error:
        fail(f"could not sync with Discord: {error}")
    where = "globally (every server the bot is in)" if target is None else f"to server {target} only"
    console.print(f"Slash commands synced {where}.")
    application_id = int(parse_qs(urlsplit(invite).query)["client_id"][0])
    console.print(texts.discord_install_links(invite, user_install_url(application_id)), soft_wrap=True)
