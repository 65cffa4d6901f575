"""/morph on Discord: the animation as a GIF (Discord plays it inline, looping), or the MP4 when
the GIF is over the upload limit the interaction reports (`filesize_limit`, 10 MiB by default)."""
from __future__ import annotations

import io
from typing import TYPE_CHECKING, Optional

import discord
from discord import app_commands
from discord.app_commands import Range

from bot import texts
from bot.discord_app.people import player_of, said_to
from bot.discord_app.replies import acknowledge, reply_privately
from bot.discord_app.translator import loc
from bot.errors import UserError
from bot.imaging import PostedImage
from bot.edits.morphs import MorphPost, parse_morph_seeds
from bot.parsing import parse_psi
from generator.interface import MAX_PSI, MAX_SEED, MIN_PSI

if TYPE_CHECKING:
    from bot.discord_app.context import FigmentClient


def morph_file(post: MorphPost, limit: int) -> PostedImage | None:
    """The file to upload: the GIF when it fits the limit, else the (much smaller) MP4; None: neither."""
    for candidate in (post.gif, post.mp4):
        if len(candidate.data) <= limit:
            return candidate
    return None


async def send_morph(interaction: discord.Interaction, a: int | str | None, b: int | str | None,
                     psi: float | str | None) -> None:
    bot: "FigmentClient" = interaction.client  # type: ignore[assignment]
    try:  # bad input gets a private answer at once; the core checks again
        parse_morph_seeds(a, b)
        parse_psi(psi)
    except UserError as error:
        await reply_privately(interaction, said_to(interaction).say(error.message))  # in the asker's language
        return
    await acknowledge(interaction, private=False)  # seconds of rendering: "thinking" first
    try:
        post = await bot.figment.morphs.morph(player_of(interaction.user), a, b, psi)
    except UserError as error:  # a second morph, the rate limit: for the asker alone
        await reply_privately(interaction, said_to(interaction).say(error.message))  # in the asker's language
        return
    t = said_to(interaction)  # the asker's language (interaction.locale), as for /face
    chosen = morph_file(post, interaction.filesize_limit)
    if chosen is None:
        await reply_privately(interaction, t.MORPH_TOO_BIG)
        return
    interaction.extras["answered"] = True
    file = discord.File(io.BytesIO(chosen.data), filename=chosen.filename, description=t.AI_NOTICE)
    await interaction.edit_original_response(content=post.caption_in(t), attachments=[file])


def add_morph_command(tree: app_commands.CommandTree) -> None:
    @tree.command(name="morph", description=loc("An animation of one face turning into another"))
    @app_commands.describe(a=loc("The first face's seed, 0 to %(max_seed)s", max_seed=MAX_SEED),
                           b=loc("The second face's seed, 0 to %(max_seed)s", max_seed=MAX_SEED),
                           psi=loc("Truncation from %(low)s to %(high)s (default 0.7)", low=f"{MIN_PSI:g}", high=f"{MAX_PSI:g}"))
    async def morph(interaction: discord.Interaction, a: Range[int, 0, MAX_SEED], b: Range[int, 0, MAX_SEED],
                    psi: Optional[Range[float, MIN_PSI, MAX_PSI]] = None) -> None:
        await send_morph(interaction, a, b, psi)
