"""The daily challenge on Discord: /daily and its buttons, every message ephemeral.

/daily says "thinking" privately, then shows today's next round in place of it: the image, the
caption and Real / Fake buttons whose custom id names the day and the round
(`figment:daily:<YYYYMMDD>:<n>:r|f`), never the truth. A click is acknowledged at once as an
update of its own message (Discord's 3 s), recorded, then that message says how it went and loses
its buttons, and the next round or the finish follows as a private follow-up. Bad clicks
(yesterday's button, a double click) get a private note.
"""
from __future__ import annotations

import io
import logging
import re
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot import texts
from bot.discord_app.translator import loc
from bot.daily import DailyRound
from bot.daily_keys import KEY_PATTERN, parse_round_key, round_key
from bot.discord_app.people import MESSAGE_LIMIT, escape, pieces, player_of, said_to
from bot.discord_app.replies import acknowledge, report_failure
from bot.errors import UserError

if TYPE_CHECKING:
    from bot.discord_app.context import FigmentClient

log = logging.getLogger(__name__)
DAILY_TEMPLATE = f"figment:daily:(?P<key>{KEY_PATTERN}):(?P<guess>[rf])"


class DailyButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=DAILY_TEMPLATE):
    def __init__(self, day: date | None, number: int, guess_real: bool, key: str | None = None,
                 t: texts.Texts = texts.EN) -> None:
        self.day = day  # None: a well-formed id with an impossible date (a made-up request)
        self.number = number
        self.guess_real = guess_real
        key = key or round_key(day, number)  # type: ignore[arg-type]
        super().__init__(discord.ui.Button(
            label=t.BUTTON_REAL if guess_real else t.BUTTON_FAKE,
            style=discord.ButtonStyle.success if guess_real else discord.ButtonStyle.danger,
            custom_id=f"figment:daily:{key}:{'r' if guess_real else 'f'}",
        ))

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str], /) -> "DailyButton":
        parsed = parse_round_key(match["key"])
        day, number = parsed if parsed is not None else (None, 0)
        return cls(day, number, match["guess"] == "r", key=match["key"])

    async def callback(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        bot: FigmentClient = interaction.client  # type: ignore[assignment]
        try:  # acknowledged first, as an update of the round's own (private) message
            await interaction.response.defer()
        except discord.HTTPException:  # too late to say anything; the click still counts
            log.warning("could not acknowledge a click on daily round %s", self.number, exc_info=True)
        try:
            if self.day is None:
                raise UserError(texts.BUTTON_UNKNOWN)
            step = await bot.figment.daily.answer(player_of(interaction.user, interaction.locale), self.day, self.number,
                                                  self.guess_real)
        except UserError as error:  # yesterday's button, a double click: said to the clicker alone
            await interaction.followup.send(said_to(interaction).say(error.message), ephemeral=True)
            return
        except Exception:
            await report_failure(interaction, f"an answer to daily round {self.number}")
            return
        caption = interaction.message.content if interaction.message is not None else ""
        try:
            await interaction.edit_original_response(
                content=texts.clip(f"{caption}\n{step.result}".strip(), MESSAGE_LIMIT), view=None)
        except discord.HTTPException:  # the message is a nicety: the result follows anyway
            log.warning("could not edit a daily round's message", exc_info=True)
            await interaction.followup.send(step.result, ephemeral=True)
        if step.next_round is not None:
            await interaction.followup.send(**round_message(step.next_round), ephemeral=True)
        elif step.finish is not None:
            # the core's board is plain text: rebuilt with names escaped for Discord
            board = await bot.figment.daily.board_text(self.day, escape)
            for piece in pieces(replace(step.finish, board_text=board).text()):
                await interaction.followup.send(piece, ephemeral=True)


def daily_view(round_: DailyRound) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    t = texts.lang(round_.lang)  # the player's language: a daily round is theirs alone
    view.add_item(DailyButton(round_.day, round_.number, True, t=t))
    view.add_item(DailyButton(round_.day, round_.number, False, t=t))
    return view


def round_message(round_: DailyRound) -> dict[str, Any]:
    """The parts of a daily round's message: caption, image and buttons."""
    return {"content": round_.caption, "view": daily_view(round_),
            "file": discord.File(io.BytesIO(round_.image.data), filename=round_.image.filename)}


def add_daily_command(tree: app_commands.CommandTree) -> None:
    @tree.command(name="daily", description=loc("Today's challenge: the same faces for everyone, one try a day, in private"))
    async def daily(interaction: discord.Interaction) -> None:
        await acknowledge(interaction, private=True)  # the first image of the day may take a moment
        bot: FigmentClient = interaction.client  # type: ignore[assignment]
        round_ = await bot.figment.daily.start(player_of(interaction.user, interaction.locale))  # UserError: FigmentTree.on_error
        parts = round_message(round_)
        interaction.extras["answered"] = True
        await interaction.edit_original_response(content=parts["content"], attachments=[parts["file"]],
                                                 view=parts["view"])
