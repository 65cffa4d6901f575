"""Buttons that keep working after a restart: the custom id carries all they need.

A quiz button names the round and the guess it stands for, never the truth:
`figment:answer:<round_id>:r` (Real) or `...:f` (Fake); pair buttons name the side. discord.py
rebuilds these DynamicItems from any click whose custom id matches the template, whichever
process sent the message. (The "another face" button lives with /face, in face.py.)
"""
from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

import discord

from bot import texts
from bot.discord_app.people import PLATFORM, chat_of, player_of, said_to
from bot.discord_app.replies import report_failure

if TYPE_CHECKING:
    from bot.discord_app.context import FigmentClient

log = logging.getLogger(__name__)
ANSWER_TEMPLATE = r"figment:answer:(?P<round>[0-9]{1,19}):(?P<guess>[rf])"


class AnswerButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=ANSWER_TEMPLATE):
    def __init__(self, round_id: int, guess_real: bool, *, disabled: bool = False, t: texts.Texts = texts.EN) -> None:
        self.round_id = round_id
        self.guess_real = guess_real
        super().__init__(discord.ui.Button(  # the label in the chat's language, the custom id the same in all
            label=t.BUTTON_REAL if guess_real else t.BUTTON_FAKE,
            style=discord.ButtonStyle.success if guess_real else discord.ButtonStyle.danger,
            custom_id=f"figment:answer:{round_id}:{'r' if guess_real else 'f'}",
            disabled=disabled,
        ))

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str], /) -> "AnswerButton":
        return cls(int(match["round"]), match["guess"] == "r")

    async def callback(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        bot: FigmentClient = interaction.client  # type: ignore[assignment]
        with bot.figment.metrics.handling(PLATFORM, "answer"):
            await self._answer(bot, interaction)

    async def _answer(self, bot: "FigmentClient", interaction: discord.Interaction) -> None:
        # Acknowledge first: Discord drops a click not answered within 3 s, and the database may
        # be slower than that. The answer is recorded after, once, and told in place of "thinking".
        try:
            await interaction.response.defer(ephemeral=True, thinking=True)
        except discord.HTTPException:  # too late to say anything; the click still counts
            log.warning("could not acknowledge a click on round %s", self.round_id, exc_info=True)
        try:
            reply = await bot.figment.quiz.answer(self.round_id, player_of(interaction.user, interaction.locale), self.guess_real,
                                                  chat_of(interaction))
        except Exception:
            await report_failure(interaction, f"an answer to round {self.round_id}")
            return
        await interaction.edit_original_response(content=said_to(interaction).say(reply.text))


def round_view(round_id: int, *, disabled: bool = False, t: texts.Texts = texts.EN) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(AnswerButton(round_id, True, disabled=disabled, t=t))
    view.add_item(AnswerButton(round_id, False, disabled=disabled, t=t))
    return view


PAIR_TEMPLATE = r"figment:pair:(?P<round>[0-9]{1,19}):(?P<side>[ab])"


class PairButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=PAIR_TEMPLATE):
    """"A is real" / "B is real" under a pair round: `figment:pair:<round_id>:a` or `...:b`."""

    def __init__(self, round_id: int, a_is_real: bool, *, disabled: bool = False, t: texts.Texts = texts.EN) -> None:
        self.round_id = round_id
        self.a_is_real = a_is_real
        super().__init__(discord.ui.Button(
            label=t.BUTTON_A_REAL if a_is_real else t.BUTTON_B_REAL,
            style=discord.ButtonStyle.primary,  # one colour for both: neither side looks "right"
            custom_id=f"figment:pair:{round_id}:{'a' if a_is_real else 'b'}",
            disabled=disabled,
        ))

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str], /) -> "PairButton":
        return cls(int(match["round"]), match["side"] == "a")

    async def callback(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        bot: FigmentClient = interaction.client  # type: ignore[assignment]
        with bot.figment.metrics.handling(PLATFORM, "pair_answer"):
            await self._answer(bot, interaction)

    async def _answer(self, bot: "FigmentClient", interaction: discord.Interaction) -> None:
        try:  # acknowledged first, as for AnswerButton
            await interaction.response.defer(ephemeral=True, thinking=True)
        except discord.HTTPException:
            log.warning("could not acknowledge a click on round %s", self.round_id, exc_info=True)
        try:
            reply = await bot.figment.quiz.answer(self.round_id, player_of(interaction.user, interaction.locale), self.a_is_real,
                                                  chat_of(interaction), pair=True)
        except Exception:
            await report_failure(interaction, f"an answer to pair round {self.round_id}")
            return
        await interaction.edit_original_response(content=said_to(interaction).say(reply.text))


def pair_view(round_id: int, *, disabled: bool = False, t: texts.Texts = texts.EN) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(PairButton(round_id, True, disabled=disabled, t=t))
    view.add_item(PairButton(round_id, False, disabled=disabled, t=t))
    return view
