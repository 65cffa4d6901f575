"""/check on Discord: a slash command with an image attachment option, and "Check with Figment"
in a message's Apps menu (Discord's way to act on a message someone else posted).

Discord tells the attachment's size before any download, so a file over the check limit is
answered without fetching it. The per-user limit is counted before any download; its refusal is
said to the asker alone.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot import texts
from bot.discord_app.translator import loc
from bot.discord_app.people import PLATFORM, said_to
from bot.discord_app.replies import acknowledge, reply, reply_privately
from bot.errors import UserError
from bot.provenance.check import MAX_BYTES, CheckService

if TYPE_CHECKING:
    from bot.discord_app.context import FigmentClient


MENU_NAME = loc("Check with Figment")


async def _check(interaction: discord.Interaction, image: discord.Attachment) -> None:
    if image.size > MAX_BYTES:
        await reply(interaction, said_to(interaction).check_too_big(MAX_BYTES), ephemeral=True)
        return
    await acknowledge(interaction, private=False)  # counting, downloading and reading take a moment
    bot: "FigmentClient" = interaction.client  # type: ignore[assignment]
    checks = CheckService(bot.figment)
    try:
        await checks.admit(PLATFORM, str(interaction.user.id))  # the key /face uses
    except UserError as error:  # over the limit: said to the asker alone, the public "thinking" goes
        await reply_privately(interaction, said_to(interaction).say(error.message))
        return
    data = await image.read()
    await reply(interaction, await checks.reply(data, said_to(interaction).lang))


def add_check_command(tree: app_commands.CommandTree) -> None:
    @tree.command(name="check", description=loc("Is this image a Figment face? Reads its credentials and watermark"))
    @app_commands.describe(image=loc("The image to check (PNG, JPEG, WebP...)"))
    async def check(interaction: discord.Interaction, image: discord.Attachment) -> None:
        await _check(interaction, image)

    @tree.context_menu(name=MENU_NAME)
    async def check_message(interaction: discord.Interaction, message: discord.Message) -> None:
        if not message.attachments:
            await reply(interaction, said_to(interaction).CHECK_HOW_DISCORD, ephemeral=True)
            return
        await _check(interaction, message.attachments[0])
