"""How long Discord's slash commands and menu commands take (bot.ops.metrics: figment_bot_handler_seconds).

discord.py runs a command between two public hooks of ours: the tree's interaction_check (before)
and either the client's on_app_command_completion or the tree's on_error (after). The start is kept
with the interaction; buttons time themselves with metrics.handling().
"""
from __future__ import annotations

import time

import discord

from bot.discord_app.people import PLATFORM

_STARTED = "figment_started"


def start(interaction: discord.Interaction) -> None:
    interaction.extras[_STARTED] = time.perf_counter()


def finish(interaction: discord.Interaction) -> None:
    """Count the command's time, once; a client without a core (the CLI's sync) counts nothing."""
    started = interaction.extras.pop(_STARTED, None)
    figment = getattr(interaction.client, "figment", None)
    if started is None or figment is None:
        return
    name = interaction.command.qualified_name if interaction.command is not None else "unknown"
    figment.metrics.handled(PLATFORM, name, time.perf_counter() - started)
