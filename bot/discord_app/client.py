"""The Discord client: commands, persistent buttons, the quiz presenter, and what runs at start."""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import discord

from bot.app import Figment
from bot.discord_app import timing
from bot.discord_app.api_errors import error_trace
from bot.discord_app.buttons import AnswerButton, PairButton
from bot.discord_app.translator import FigmentTranslator
from bot.discord_app.commands import FigmentTree, add_commands
from bot.discord_app.daily import DailyButton
from bot.discord_app.face import AnotherFaceButton
from bot.discord_app.people import NO_MENTIONS, PLATFORM
from bot.discord_app.presenter import DiscordPresenter
from bot.discord_app.sync import RECORD_FILE, SyncRecord, sync_commands

log = logging.getLogger(__name__)


def intents() -> discord.Intents:
    """Slash commands and buttons need no privileged intent; guilds gives the channel cache."""
    wanted = discord.Intents.none()
    wanted.guilds = True
    return wanted


class CommandClient(discord.Client):
    """A client with Figment's command tree and nothing else (for syncing from the CLI)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(intents=intents(), allowed_mentions=NO_MENTIONS, **options)
        self.tree = FigmentTree(self)
        add_commands(self.tree)

    async def setup_hook(self) -> None:
        # Command names and descriptions in each player's language (bot.discord_app.translator).
        await self.tree.set_translator(FigmentTranslator())


class FigmentBot(CommandClient):
    def __init__(self, figment: Figment, *, test_guild: int | None = None, sync: bool = True,
                 sync_record: Path | None = None, ready: asyncio.Event | None = None, **options: Any) -> None:
        super().__init__(http_trace=error_trace(self._platform_error), **options)
        self.figment = figment
        self.presenter = DiscordPresenter(self, figment)
        self.test_guild = test_guild
        self.sync = sync
        self.sync_record = SyncRecord(sync_record or figment.settings.data_dir / RECORD_FILE)
        self.ready_event = ready

    async def setup_hook(self) -> None:
        # Logged in, not yet connected to the gateway: REST works, no events arrive yet.
        await super().setup_hook()
        self.add_dynamic_items(AnswerButton, AnotherFaceButton, PairButton, DailyButton)
        self.figment.quiz.register(PLATFORM, self.presenter)
        if self.sync and not self.runs_shard_zero:
            # One process syncs for the whole bot: Discord rate-limits command updates.
            log.info("Discord commands are synced by the process that runs shard 0")
        elif self.sync:
            try:
                await sync_commands(self.tree, self.sync_record, guild_id=self.test_guild)
            except discord.HTTPException:
                # the commands Discord has still work; the next start tries again
                log.exception("could not sync the Discord commands")
        resumed = await self.figment.quiz.recover(PLATFORM, self.presenter.expected_players)
        if resumed:
            log.info("resumed %d Discord games", resumed)

    @property
    def runs_shard_zero(self) -> bool:
        """Whether this process runs shard 0 (an unsharded bot is shard 0): direct messages arrive
        there, and that process alone syncs the commands."""
        shard_ids = getattr(self, "shard_ids", None)  # an AutoShardedClient's own shards
        if shard_ids is not None:
            return 0 in shard_ids
        return (self.shard_id or 0) == 0

    def forget_ready_wait(self) -> None:
        """discord.py's close() leaves its "wait for the guilds, then say ready" task running; a
        bot stopped within that short wait would have it fire on a closed client. Cancel it
        (a sharded client has one such task per shard, and one that waits for them all)."""
        ready_task = getattr(self._connection, "_ready_task", None)
        if ready_task is not None:
            ready_task.cancel()
        for shard_task in list(getattr(self._connection, "_ready_tasks", {}).values()):
            shard_task.cancel()

    async def close(self) -> None:
        self.forget_ready_wait()
        await super().close()
        self.forget_ready_wait()  # a READY parsed while closing started another

    async def on_shard_ready(self, shard_id: int) -> None:
        log.info("Discord: shard %d of %s ready", shard_id, self.shard_count)

    def _platform_error(self, kind: str) -> None:
        self.figment.metrics.platform_error(PLATFORM, kind)

    async def on_app_command_completion(self, interaction: discord.Interaction, command: Any) -> None:
        timing.finish(interaction)

    async def on_disconnect(self) -> None:
        if not self.is_closed():  # a drop, not our own close: discord.py reconnects by itself
            self._platform_error("gateway")

    async def on_ready(self) -> None:
        log.info("Discord: connected as %s to %d servers", self.user, len(self.guilds))
        if self.ready_event is not None:
            self.ready_event.set()


class ShardedFigmentBot(FigmentBot, discord.AutoShardedClient):
    """Figment on several shards (discord.py's AutoShardedClient): each process of a big bot runs
    the shards it is given; REST calls (posts, reveals, replies) reach any channel from any shard."""


def make_bot(figment: Figment, *, shard_count: int | str | None = None, shard_ids: tuple[int, ...] | None = None,
             **options: Any) -> FigmentBot:
    """An unsharded bot, or a sharded one when a shard count ("auto": Discord's recommendation)
    or shard ids are given."""
    if shard_count is None and shard_ids is None:
        return FigmentBot(figment, **options)
    count = None if shard_count == "auto" else shard_count
    ids = list(shard_ids) if shard_ids is not None else None
    return ShardedFigmentBot(figment, shard_count=count, shard_ids=ids, **options)
