"""Answering an interaction: long texts in pieces, errors privately, whatever was said before."""
from __future__ import annotations

import logging

import discord

from bot import texts
from bot.discord_app.people import pieces

log = logging.getLogger(__name__)


async def acknowledge(interaction: discord.Interaction, *, private: bool) -> None:
    """Say "thinking" at once, before any database work: Discord drops an interaction that has
    no first response within 3 s. `private`: the answer that follows is for the user alone."""
    interaction.extras["private"] = private
    await interaction.response.defer(ephemeral=private, thinking=True)


def _thinking(interaction: discord.Interaction) -> bool:
    """The first response was "thinking", and nothing has taken its place yet."""
    return (interaction.response.type is discord.InteractionResponseType.deferred_channel_message
            and not interaction.extras.get("answered"))


async def reply(interaction: discord.Interaction, text: str, *, ephemeral: bool = False) -> None:
    """Answer with text of any length: the first piece answers (or replaces "thinking"), the rest follow."""
    for piece in pieces(text):
        if not interaction.response.is_done():
            await interaction.response.send_message(piece, ephemeral=ephemeral)
        elif _thinking(interaction):
            interaction.extras["answered"] = True
            await interaction.edit_original_response(content=piece)
        else:
            await interaction.followup.send(piece, ephemeral=ephemeral)


async def reply_privately(interaction: discord.Interaction, text: str) -> None:
    """An error or refusal: ephemeral when we can, else in place of a private "thinking" message;
    a public "thinking" is removed and the answer sent privately."""
    if not interaction.response.is_done():
        await interaction.response.send_message(text, ephemeral=True)
    elif _thinking(interaction) and interaction.extras.get("private", True):
        interaction.extras["answered"] = True
        await interaction.edit_original_response(content=text)
    elif _thinking(interaction):
        interaction.extras["answered"] = True
        await interaction.delete_original_response()
        await interaction.followup.send(text, ephemeral=True)
    else:
        await interaction.followup.send(text, ephemeral=True)


async def report_failure(interaction: discord.Interaction, what: str) -> None:
    """Log the exception being handled and tell the user something went wrong (never a traceback)."""
    log.exception("%s failed", what)
    try:
        await reply_privately(interaction, texts.lang(interaction.locale.value if interaction.locale else None).ERROR)
    except discord.HTTPException:
        log.warning("could not tell the user about the failure", exc_info=True)
