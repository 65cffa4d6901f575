"""Entry points: run the bot until told to stop, and sync the commands from the CLI."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any, Iterator

import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.app import Figment
from bot.ops.health import Readiness
from bot.discord_app.client import CommandClient, make_bot
from bot.discord_app.people import PLATFORM
from bot.discord_app.sync import SyncRecord, sync_commands

log = logging.getLogger(__name__)

# What the bot asks for when invited: see and post in channels, with images and embeds.
INVITE_PERMISSIONS = discord.Permissions(view_channel=True, send_messages=True, embed_links=True,
                                         attach_files=True)


class DiscordStartError(RuntimeError):
    """The bot could not start (bad token, Discord unreachable); the message says why."""


@contextlib.contextmanager
def endpoints(base_url: str | None, gateway_url: str | None) -> Iterator[None]:
    """Point discord.py at another Discord (a local fake in tests); restored afterwards.
    These are process-wide class attributes: one Discord per process."""
    old_base, old_gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    if base_url:
        Route.BASE = base_url.rstrip("/")
    if gateway_url:
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
    try:
        yield
    finally:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = old_base, old_gateway


_FROM_SETTINGS: Any = object()  # an option not given: the setting decides


async def serve(figment: Figment, token: str, stop: asyncio.Event, *, base_url: str | None = None,
                gateway_url: str | None = None, test_guild: int | None = None, sync: bool = True,
                sync_record: Path | None = None, ready: asyncio.Event | None = None,
                guild_ready_timeout: float = 2.0, shard_count: int | str | None = _FROM_SETTINGS,
                shard_ids: tuple[int, ...] | None = _FROM_SETTINGS, health: Readiness | None = None) -> None:
    """Run Figment on Discord until `stop` is set, then shut down cleanly.

    test_guild: sync the commands to this guild only (default FIGMENT_DISCORD_TEST_GUILD).
    sync: sync the command set at start when it changed since the last sync (only where shard 0 runs).
    sync_record: where that is remembered (default <data_dir>/discord_commands.json).
    ready: set once the gateway session is ready (every shard of this process).
    base_url / gateway_url: another Discord (default FIGMENT_DISCORD_API_URL / _GATEWAY_URL).
    shard_count / shard_ids: default FIGMENT_DISCORD_SHARD_COUNT / _SHARD_IDS.
    health: /readyz's checks, given a probe of the gateway (every shard of this process connected).
    Raises DiscordStartError when Discord refuses the token.
    """
    settings = figment.settings
    guild = test_guild if test_guild is not None else settings.discord_test_guild
    if shard_count is _FROM_SETTINGS:
        shard_count = settings.discord_shard_count
    if shard_ids is _FROM_SETTINGS:
        shard_ids = settings.discord_shard_ids
    bot = make_bot(figment, shard_count=shard_count, shard_ids=shard_ids, test_guild=guild, sync=sync,
                   sync_record=sync_record, ready=ready, guild_ready_timeout=guild_ready_timeout)
    if shard_count is not None or shard_ids is not None:
        log.info("Discord: shards %s of %s in this process",
                 ",".join(map(str, shard_ids)) if shard_ids is not None else "all", shard_count)
    with endpoints(base_url or settings.discord_api_url, gateway_url or settings.discord_gateway_url):
        async with bot:
            if health is not None:
                health.connected(PLATFORM, lambda: gateway_trouble(bot))
            runner = asyncio.create_task(bot.start(token), name="discord-client")
            stopper = asyncio.create_task(stop.wait(), name="discord-stop")
            try:
                await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
                if runner.done():
                    _raise_start_error(runner)
            finally:
                if health is not None:
                    health.disconnected(PLATFORM)
                stopper.cancel()
                # stop this platform's game loops first: rounds stay open for the next start
                await figment.quiz.shutdown(PLATFORM)
                await bot.close()
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await runner
                bot.forget_ready_wait()  # the connection is gone: nothing parses a READY any more
    log.info("Discord front-end stopped")


def gateway_trouble(bot: discord.Client) -> str | None:
    """For /readyz: None once the gateway session is ready and every shard of this process is
    connected (a dropped one reconnects by itself, and is not ready meanwhile)."""
    if bot.is_closed():
        return "closed"
    if not bot.is_ready():
        return "gateway not ready"
    if isinstance(bot, discord.AutoShardedClient):
        shards = bot.shards
        wanted = bot.shard_ids if bot.shard_ids is not None else range(bot.shard_count or 1)
        down = [shard for shard in wanted if shard not in shards or shards[shard].is_closed()]
        return f"shard{'s' if len(down) > 1 else ''} {', '.join(map(str, down))} not connected" if down else None
    return None if bot.ws is not None and bot.ws.open else "gateway not connected"


def _raise_start_error(runner: asyncio.Task[None]) -> None:
    error = runner.exception()
    if error is None:
        log.warning("the Discord client stopped by itself")
        return
    if isinstance(error, discord.LoginFailure):
        raise DiscordStartError("Discord refused the bot token (FIGMENT_DISCORD_TOKEN). Copy it again "
                                "from the Bot page of your application.") from error
    if isinstance(error, discord.PrivilegedIntentsRequired):
        raise DiscordStartError("Discord asks for a privileged intent Figment should not need.") from error
    raise DiscordStartError(f"the Discord connection failed: {error}") from error


async def sync_now(token: str, *, guild_id: int | None, record_path: Path, force: bool = True,
                   base_url: str | None = None) -> tuple[bool, str]:
    """Log in over REST only, sync the commands (globally or to guild_id), and log out.
    Returns (whether a sync ran, the invite link for this application)."""
    client = CommandClient()
    with endpoints(base_url, None):
        async with client:
            try:
                await client.login(token)
            except discord.LoginFailure as error:
                raise DiscordStartError("Discord refused the bot token (FIGMENT_DISCORD_TOKEN).") from error
            synced = await sync_commands(client.tree, SyncRecord(record_path), guild_id=guild_id, force=force)
            assert client.application_id is not None
            return synced, invite_url(client.application_id)


def invite_url(application_id: int) -> str:
    """The server install: the bot joins the server (integration_type 0, Discord's Installation Context)."""
    return discord.utils.oauth_url(application_id, permissions=INVITE_PERMISSIONS,
                                   scopes=("bot", "applications.commands")) + "&integration_type=0"


def user_install_url(application_id: int) -> str:
    """The user install: a user adds Figment to their account (integration_type 1); no bot joins anything."""
    return discord.utils.oauth_url(application_id, scopes=("applications.commands",)) + "&integration_type=1"
