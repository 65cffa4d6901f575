"""/face and the "another face" button: a face of someone who does not exist, with its card."""
from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING, Any

import discord

from bot import texts
from bot.discord_app.people import PLATFORM, pieces, player_of, said_to
from bot.discord_app.replies import report_failure
from bot.errors import UserError
from bot.faces import FacePost
from bot.hall import parse_hall_args
from bot.parsing import parse_psi, parse_seed

if TYPE_CHECKING:
    from bot.discord_app.context import FigmentClient

# the "another face" button carries the truncation of the face it sits under
ANOTHER_TEMPLATE = r"figment:another:(?P<psi>[0-9]{1,2}(?:\.[0-9]{1,4})?)"


def face_card(post: FacePost, t: texts.Texts = texts.EN) -> tuple[discord.File, discord.Embed]:
    """The image as a file, and an embed that says what it is and how to make it again."""
    file = discord.File(io.BytesIO(post.image.data), filename=post.image.filename,
                        description=t.AI_NOTICE)
    embed = discord.Embed(title=t.DISCORD_FACE_TITLE, description=t.AI_NOTICE)
    embed.add_field(name=t.DISCORD_FIELD_SEED, value=str(post.seed))
    embed.add_field(name=t.DISCORD_FIELD_PSI, value=f"{post.psi:g}")
    embed.add_field(name=t.DISCORD_FIELD_MODEL, value=discord.utils.escape_markdown(post.model_version))
    embed.set_image(url=f"attachment://{post.image.filename}")
    return file, embed


async def send_face(interaction: discord.Interaction, seed: int | str | None, psi: float | str | None) -> None:
    bot: FigmentClient = interaction.client  # type: ignore[assignment]
    try:  # bad input gets a private answer at once; the core checks again
        parse_seed(seed)
        psi_value = parse_psi(psi)
    except UserError as error:
        await interaction.response.send_message(said_to(interaction).say(error.message), ephemeral=True)
        return
    # Generating may take longer than Discord's 3 s to answer: say "thinking" first.
    await interaction.response.defer(thinking=True)
    try:
        post = await bot.figment.faces.face(player_of(interaction.user, interaction.locale), seed, psi_value)
    except UserError as error:  # a refusal (rate limit, busy generator) is for the asker alone
        await interaction.delete_original_response()
        await interaction.followup.send(said_to(interaction).say(error.message), ephemeral=True)
        return
    t = said_to(interaction)
    file, embed = face_card(post, t)
    await interaction.edit_original_response(attachments=[file], embed=embed, view=face_view(post.psi, t))


async def send_hall(interaction: discord.Interaction, args: list[str]) -> None:
    """The hall of fakes: its list, and one picture of its faces when they can be made again."""
    bot: FigmentClient = interaction.client  # type: ignore[assignment]
    player = player_of(interaction.user, interaction.locale)
    try:
        parse_hall_args(args)  # bad input gets a private answer at once
    except UserError as error:
        await interaction.response.send_message(said_to(interaction).say(error.message), ephemeral=True)
        return
    await interaction.response.defer(thinking=True)  # remaking the faces may take a few seconds
    try:
        post = await bot.figment.hall.hall(player, args)
    except UserError as error:
        await interaction.delete_original_response()
        await interaction.followup.send(said_to(interaction).say(error.message), ephemeral=True)
        return
    text = pieces(post.text)
    if post.image is None:
        await interaction.edit_original_response(content=text[0])
    else:
        file = discord.File(io.BytesIO(post.image.data), filename=post.image.filename,
                            description=said_to(interaction).AI_NOTICE)
        await interaction.edit_original_response(content=text[0], attachments=[file])
    for piece in text[1:]:
        await interaction.followup.send(piece)


def psi_text(psi: float) -> str:
    return f"{psi:.4f}".rstrip("0").rstrip(".") or "0"


class AnotherFaceButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=ANOTHER_TEMPLATE):
    def __init__(self, psi: float, t: texts.Texts = texts.EN) -> None:
        self.psi = psi
        super().__init__(discord.ui.Button(label=t.BUTTON_ANOTHER, style=discord.ButtonStyle.primary,
                                           custom_id=f"figment:another:{psi_text(psi)}"))

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str], /) -> "AnotherFaceButton":
        return cls(float(match["psi"]))

    async def callback(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        bot: FigmentClient = interaction.client  # type: ignore[assignment]
        with bot.figment.metrics.handling(PLATFORM, "another_face"):
            try:
                await send_face(interaction, None, self.psi)
            except Exception:
                await report_failure(interaction, "the another-face button")


def face_view(psi: float, t: texts.Texts = texts.EN) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(AnotherFaceButton(psi, t))
    return view
