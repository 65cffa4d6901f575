"""/face with edits on Discord: the options `edit` (older, younger, smile, serious), `age` and
`strip` become the words /face takes elsewhere (bot.edits.face_edits), so every front-end edits alike."""
from __future__ import annotations

import io
from typing import TYPE_CHECKING

import discord
from discord.app_commands import Choice

from bot import texts
from bot.discord_app.people import player_of, said_to
from bot.discord_app.replies import acknowledge, reply_privately
from bot.edits.face_edits import MAX_AGE, MIN_AGE, parse_edit
from bot.discord_app.translator import loc
from bot.errors import UserError

if TYPE_CHECKING:
    from bot.discord_app.context import FigmentClient

__all__ = ["EDIT_CHOICES", "EDIT_OPTIONS", "MAX_AGE", "MIN_AGE", "send_edit"]

# Shown in each player's language; the values stay the words the bot understands.
EDIT_CHOICES = [Choice(name=loc("older"), value="older"), Choice(name=loc("younger"), value="younger"),
                Choice(name=loc("smile"), value="smile"), Choice(name=loc("serious"), value="serious")]
EDIT_OPTIONS = {"edit": loc("Change the face: older, younger, smiling or serious (needs a seed)"),
                "age": loc("Show the face at this age, %(low)s to %(high)s (needs a seed)", low=MIN_AGE, high=MAX_AGE),
                "strip": loc("Five steps along the edit, side by side")}


def edit_words(seed: int | None, psi: float | None, edit: str | None, age: int | None, strip: bool) -> list[str]:
    words = [str(seed) if seed is not None else ""]
    if psi is not None:
        words.append(repr(float(psi)))
    if edit is not None:
        words.append(edit)
    if age is not None:
        words += ["age", str(age)]
    if strip:
        words.append("strip")
    return words


async def send_edit(interaction: discord.Interaction, seed: int | None, psi: float | None, edit: str | None,
                    age: int | None, strip: bool) -> None:
    bot: "FigmentClient" = interaction.client  # type: ignore[assignment]
    words = edit_words(seed, psi, edit, age, strip)
    try:  # bad input gets a private answer at once; the core checks again
        parse_edit(words)
    except UserError as error:
        await reply_privately(interaction, said_to(interaction).say(error.message))  # in the asker's language
        return
    await acknowledge(interaction, private=False)
    try:
        post = await bot.figment.edits.face_words(player_of(interaction.user), words)
    except UserError as error:
        await reply_privately(interaction, said_to(interaction).say(error.message))  # in the asker's language
        return
    interaction.extras["answered"] = True
    t = said_to(interaction)  # the asker's language (interaction.locale), as for /face
    file = discord.File(io.BytesIO(post.image.data), filename=post.image.filename, description=t.AI_NOTICE)
    embed = discord.Embed(title=t.DISCORD_FACE_TITLE, description=post.caption_in(t))
    embed.set_image(url=f"attachment://{post.image.filename}")
    await interaction.edit_original_response(attachments=[file], embed=embed)
