"""The slash commands: each turns an interaction into one core call and answers with its text.

Bad input and refusals arrive as UserError from the core; FigmentTree.on_error shows their
message privately. Option ranges are declared so Discord's client checks them as users type; the
core checks again, since a request can bypass the client.
"""
from __future__ import annotations

import logging
from typing import Optional, Protocol

import discord
from discord import app_commands
from discord.app_commands import Choice, Range

from bot import texts
from bot.boards import parse_board_query
from bot.discord_app import timing
from bot.discord_app.check import add_check_command
from bot.discord_app.context import FigmentClient
from bot.discord_app.daily import add_daily_command
from bot.discord_app.face import send_face, send_hall
from bot.discord_app.edit import EDIT_CHOICES, EDIT_OPTIONS, MAX_AGE, MIN_AGE, send_edit
from bot.discord_app.morph import add_morph_command
from bot.discord_app.people import chat_of, escape, player_of
from bot.discord_app.presenter import QUIZ_CHANNEL, DiscordPresenter
from bot.discord_app.replies import acknowledge, reply, reply_privately
from bot.errors import UserError
from bot.quiz.modes import PAIRS, SINGLE
from bot.quiz.tips import tips_text
from generator.interface import MAX_PSI, MAX_SEED, MIN_PSI

log = logging.getLogger(__name__)

MODE_CHOICES = [Choice(name="one face", value=SINGLE), Choice(name="pairs", value=PAIRS)]
MAX_ROUNDS = 100  # the highest max_rounds_per_game setting; the chat's own limit is the core's


class _QuizClient(FigmentClient, Protocol):
    """The client as /quiz and /settings use it: the core and the Discord presenter."""

    presenter: DiscordPresenter


def _bot(interaction: discord.Interaction) -> "_QuizClient":
    return interaction.client  # type: ignore[return-value]


class FigmentTree(app_commands.CommandTree):
    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        timing.start(interaction)  # every command passes here first: its time counts from now
        return True

    async def on_error(self, interaction: discord.Interaction,  # type: ignore[override]
                       error: app_commands.AppCommandError) -> None:
        original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
        if isinstance(original, UserError):
            text = original.message
        elif isinstance(original, app_commands.TransformerError):
            text = texts.DISCORD_BAD_OPTION
        else:
            command = interaction.command.qualified_name if interaction.command else "?"
            log.error("command /%s failed", command, exc_info=original)
            text = texts.ERROR
        try:
            await reply_privately(interaction, text)
        except discord.HTTPException:
            log.warning("could not tell the user about an error", exc_info=True)
        timing.finish(interaction)


def add_commands(tree: app_commands.CommandTree) -> None:
    """Register Figment's commands on tree (a fresh set per tree)."""

    @tree.command(name="face", description="A face of someone who does not exist")
    @app_commands.describe(seed=f"Same seed, same face: a whole number from 0 to {MAX_SEED} (empty: random)",
                           psi=f"Truncation from {MIN_PSI:g} to {MAX_PSI:g}: low looks typical, high varied "
                               "(default 0.7)")
    @app_commands.describe(**EDIT_OPTIONS)
    @app_commands.choices(edit=EDIT_CHOICES)
    async def face(interaction: discord.Interaction, seed: Optional[Range[int, 0, MAX_SEED]] = None,
                   psi: Optional[Range[float, MIN_PSI, MAX_PSI]] = None, edit: Optional[str] = None,
                   age: Optional[Range[int, MIN_AGE, MAX_AGE]] = None, strip: Optional[bool] = None) -> None:
        if edit is not None or age is not None or strip:  # an edited face (bot.discord_app.edit)
            await send_edit(interaction, seed, psi, edit, age, bool(strip))
            return
        await send_face(interaction, seed, psi)

    @tree.command(name="quiz", description="Play real photo or AI fake")
    @app_commands.describe(rounds="How many rounds (empty: this server's setting)",
                           mode="One face at a time, or pairs: which of two faces is real (default: one face)",
                           hard="Fakes from the hall of fakes: the faces that fooled the most players")
    @app_commands.choices(mode=MODE_CHOICES)
    async def quiz(interaction: discord.Interaction, rounds: Optional[Range[int, 1, MAX_ROUNDS]] = None,
                   mode: Optional[str] = None, hard: bool = False) -> None:
        await acknowledge(interaction, private=True)  # the rounds themselves are for everyone
        bot, chat = _bot(interaction), chat_of(interaction)
        target = interaction.channel_id
        assert target is not None
        if interaction.guild_id is not None:
            target = await bot.presenter.quiz_channel(chat) or target
        # The game's channel is stored with its start: every process posts it there.
        await bot.figment.quiz.start(chat, player_of(interaction.user), rounds, mode or SINGLE, hard=hard,
                                     options=bot.presenter.start_options(chat, target))
        if target == interaction.channel_id:
            await reply(interaction, texts.DISCORD_QUIZ_STARTED)
        else:
            await reply(interaction, texts.discord_quiz_elsewhere(f"<#{target}>"))

    @tree.command(name="stop", description="End the game in this server now")
    async def stop(interaction: discord.Interaction) -> None:
        # stopping reveals the open round and posts the summary: that can take a few seconds
        await interaction.response.defer(ephemeral=True, thinking=True)
        await _bot(interaction).figment.quiz.stop(chat_of(interaction))
        await interaction.edit_original_response(content=texts.DISCORD_GAME_STOPPED)

    @tree.command(name="leaderboard", description="Who spots fakes best")
    @app_commands.describe(scope="This server or everywhere (default: this server)",
                           period="All time or this week (default: all time)",
                           mode="Which game's board (default: one face at a time)")
    @app_commands.choices(scope=[Choice(name="this server", value="server"), Choice(name="everywhere", value="global")],
                          period=[Choice(name="all time", value="all"), Choice(name="this week", value="week")],
                          mode=MODE_CHOICES)
    async def leaderboard(interaction: discord.Interaction, scope: Optional[str] = None,
                          period: Optional[str] = None, mode: Optional[str] = None) -> None:
        # no database: at once
        when, where, game = parse_board_query([word for word in (period, scope, mode) if word])
        await acknowledge(interaction, private=False)
        await reply(interaction, await _bot(interaction).figment.boards.leaderboard_text(
            chat_of(interaction), when, where, escape, by=player_of(interaction.user), mode=game))

    @tree.command(name="stats", description="A record, and how often the generator fools people")
    @app_commands.describe(member="Whose record (default: yours)")
    async def stats(interaction: discord.Interaction, member: Optional[discord.User] = None) -> None:
        who = player_of(member or interaction.user)
        await acknowledge(interaction, private=False)
        await reply(interaction, await _bot(interaction).figment.boards.stats_text(
            chat_of(interaction), who, escape, by=player_of(interaction.user)))

    @tree.command(name="hall", description="The hall of fakes: the AI faces that fooled the most players")
    @app_commands.describe(period="This week or all time (default: this week)")
    @app_commands.choices(period=[Choice(name="this week", value="week"), Choice(name="all time", value="all")])
    async def hall(interaction: discord.Interaction, period: Optional[str] = None) -> None:
        await send_hall(interaction, [period] if period else [])

    @tree.command(name="forgetme", description="Delete everything Figment stores about you")
    async def forgetme(interaction: discord.Interaction) -> None:
        await acknowledge(interaction, private=True)
        await reply(interaction, await _bot(interaction).figment.boards.forget(player_of(interaction.user)),
                    ephemeral=True)

    @tree.command(name="tips", description="What gives a fake away")
    async def tips(interaction: discord.Interaction) -> None:
        await reply(interaction, tips_text(), ephemeral=True)  # a list for the asker, not the channel

    @tree.command(name="settings", description="Round length, rounds per game and the quiz channel")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.describe(seconds="How long a round stays open, in seconds",
                           rounds="Rounds in a game started without a number",
                           channel="The channel where games run",
                           any_channel="Forget the quiz channel: games run where /quiz is used")
    async def settings(interaction: discord.Interaction, seconds: Optional[Range[int, 5, 600]] = None,
                       rounds: Optional[Range[int, 1, MAX_ROUNDS]] = None,
                       channel: Optional[discord.TextChannel] = None, any_channel: bool = False) -> None:
        await acknowledge(interaction, private=True)
        bot, chat = _bot(interaction), chat_of(interaction)
        in_server = interaction.guild_id is not None
        # Discord hides the command from members without Manage Server by default, but a server
        # can change that: the permission that arrives with the interaction decides.
        is_admin = not in_server or interaction.permissions.manage_guild
        changes = seconds is not None or rounds is not None or channel is not None or any_channel
        if changes and not is_admin:
            raise UserError(texts.NOT_ADMIN)
        if (channel is not None or any_channel) and not in_server:
            raise UserError(texts.DISCORD_SERVER_ONLY)
        text = await bot.figment.chats.update(chat, is_admin=is_admin, key=None, value=None)
        for key, value in (("seconds", seconds), ("rounds", rounds)):
            if value is not None:
                text = await bot.figment.chats.update(chat, is_admin=True, key=key, value=str(value))
        if channel is not None or any_channel:
            await bot.figment.chats.set_option(chat, QUIZ_CHANNEL, None if any_channel else str(channel.id))
        if in_server:
            current = await bot.presenter.quiz_channel(chat)
            text += "\n" + texts.discord_quiz_channel(f"<#{current}>" if current else None)
        await reply(interaction, text, ephemeral=True)

    add_daily_command(tree)
    add_check_command(tree)
    add_morph_command(tree)
