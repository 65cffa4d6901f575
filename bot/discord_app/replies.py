"""Answering an interaction: long texts in pieces, errors privately, whatever was said before."""
from __future__ import annotations

import logging

import discord

from bot import texts
from bot.discord_app.people import pieces

log = logging.getLogger(__name__)


async def reply(interaction: discord.Interaction, text: str, *, ephemeral: bool = False) -> None:
    """Answer with text of any length: the first piece answers, the rest follow."""
    for piece in pieces(text):
        if not interaction.response.is_done():
            await interaction.response.send_message(piece, ephemeral=ephemeral)
        else:
            await interaction.followup.send(piece, ephemeral=ephemeral)


async def reply_privately(interaction: discord.Interaction, text: str) -> None:
    """An error or refusal: ephemeral when we can, else in place of the "thinking" message."""
    if not interaction.response.is_done():
        await interaction.response.send_message(text, ephemeral=True)
    elif interaction.response.type is discord.InteractionResponseType.deferred_channel_message:
        await interaction.edit_original_response(content=text)
    else:
        await interaction.followup.send(text, ephemeral=True)


async def report_failure(interaction: discord.Interaction, what: str) -> None:
    """Log the exception being handled and tell the user something went wrong (never a traceback)."""
    log.exception("%s failed", what)
    try:
        await reply_privately(interaction, texts.ERROR)
    except discord.HTTPException:
        log.warning("could not tell the user about the failure", exc_info=True)
