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

from bot import i18n, texts
from bot.discord_app.translator import loc
from bot.boards import parse_board_query
from bot.discord_app import timing
from bot.discord_app.challenge import (add_challenge_command, anywhere, in_any_chat, require_the_bot,
                                        server_only, server_or_bot_dm)
from bot.discord_app.check import add_check_command
from bot.discord_app.context import FigmentClient
from bot.discord_app.daily import add_daily_command
from bot.discord_app.face import send_face, send_hall
from bot.discord_app.edit import EDIT_CHOICES, EDIT_OPTIONS, MAX_AGE, MIN_AGE, send_edit
from bot.discord_app.morph import add_morph_command
from bot.discord_app.people import chat_of, escape, player_of, said_to
from bot.discord_app.presenter import QUIZ_CHANNEL, DiscordPresenter
from bot.discord_app.replies import acknowledge, reply, reply_privately
from bot.errors import UserError
from bot.quiz.modes import PAIRS, SINGLE
from bot.quiz.tips import tips_text
from generator.interface import MAX_PSI, MAX_SEED, MIN_PSI

log = logging.getLogger(__name__)

MODE_CHOICES = [Choice(name=loc("one face"), value=SINGLE), Choice(name=loc("pairs"), value=PAIRS)]
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
        t = said_to(interaction)  # an error is said to the asker alone, in their language
        if isinstance(original, UserError):
            text = t.say(original.message)
        elif isinstance(original, app_commands.TransformerError):
            text = t.DISCORD_BAD_OPTION
        else:
            command = interaction.command.qualified_name if interaction.command else "?"
            log.error("command /%s failed", command, exc_info=original)
            text = t.ERROR
        try:
            await reply_privately(interaction, text)
        except discord.HTTPException:
            log.warning("could not tell the user about an error", exc_info=True)
        timing.finish(interaction)


def add_commands(tree: app_commands.CommandTree) -> None:
    """Register Figment's commands on tree (a fresh set per tree)."""

    @tree.command(name="face", description=loc("A face of someone who does not exist"))
    @anywhere
    @in_any_chat
    @app_commands.describe(seed=loc("Same seed, same face: a whole number from 0 to %(max_seed)s (empty: random)",
                                    max_seed=MAX_SEED),
                           psi=loc("Truncation from %(low)s to %(high)s: low looks typical, high varied (default 0.7)",
                                   low=f"{MIN_PSI:g}", high=f"{MAX_PSI:g}"))
    @app_commands.describe(**EDIT_OPTIONS)
    @app_commands.choices(edit=EDIT_CHOICES)
    async def face(interaction: discord.Interaction, seed: Optional[Range[int, 0, MAX_SEED]] = None,
                   psi: Optional[Range[float, MIN_PSI, MAX_PSI]] = None, edit: Optional[str] = None,
                   age: Optional[Range[int, MIN_AGE, MAX_AGE]] = None, strip: Optional[bool] = None) -> None:
        if edit is not None or age is not None or strip:  # an edited face (bot.discord_app.edit)
            await send_edit(interaction, seed, psi, edit, age, bool(strip))
            return
        await send_face(interaction, seed, psi)

    @tree.command(name="quiz", description=loc("Play real photo or AI fake"))
    @app_commands.describe(rounds=loc("How many rounds (empty: this server's setting)"),
                           mode=loc("One face at a time, or pairs: which of two faces is real (default: one face)"),
                           hard=loc("Fakes from the hall of fakes: the faces that fooled the most players"))
    @app_commands.choices(mode=MODE_CHOICES)
    @server_only
    @server_or_bot_dm
    async def quiz(interaction: discord.Interaction, rounds: Optional[Range[int, 1, MAX_ROUNDS]] = None,
                   mode: Optional[str] = None, hard: bool = False) -> None:
        require_the_bot(interaction)  # the game posts in the channel: the bot must be there
        await acknowledge(interaction, private=True)  # the rounds themselves are for everyone
        bot, chat = _bot(interaction), chat_of(interaction)
        target = interaction.channel_id
        assert target is not None
        if interaction.guild_id is not None:
            target = await bot.presenter.quiz_channel(chat) or target
        # The game's channel is stored with its start: every process posts it there.
        await bot.figment.quiz.start(chat, player_of(interaction.user, interaction.locale), rounds, mode or SINGLE, hard=hard,
                                     options=bot.presenter.start_options(chat, target))
        t = said_to(interaction)
        if target == interaction.channel_id:
            await reply(interaction, t.DISCORD_QUIZ_STARTED)
        else:
            await reply(interaction, t.discord_quiz_elsewhere(f"<#{target}>"))

    @tree.command(name="stop", description=loc("End the game in this server now"))
    async def stop(interaction: discord.Interaction) -> None:
        # stopping reveals the open round and posts the summary: that can take a few seconds
        await interaction.response.defer(ephemeral=True, thinking=True)
        await _bot(interaction).figment.quiz.stop(chat_of(interaction))
        await interaction.edit_original_response(content=said_to(interaction).DISCORD_GAME_STOPPED)

    @tree.command(name="leaderboard", description=loc("Who spots fakes best"))
    @app_commands.describe(scope=loc("This server or everywhere (default: this server)"),
                           period=loc("All time or this week (default: all time)"),
                           mode=loc("Which game's board (default: one face at a time)"))
    @app_commands.choices(scope=[Choice(name=loc("this server"), value="server"), Choice(name=loc("everywhere"), value="global")],
                          period=[Choice(name=loc("all time"), value="all"), Choice(name=loc("this week"), value="week")],
                          mode=MODE_CHOICES)
    async def leaderboard(interaction: discord.Interaction, scope: Optional[str] = None,
                          period: Optional[str] = None, mode: Optional[str] = None) -> None:
        # no database: at once
        when, where, game = parse_board_query([word for word in (period, scope, mode) if word])
        await acknowledge(interaction, private=False)
        bot, chat = _bot(interaction), chat_of(interaction)
        # a board is the server's: said in the server's language
        await reply(interaction, await bot.figment.boards.leaderboard_text(
            chat, when, where, escape, by=player_of(interaction.user, interaction.locale), mode=game,
            lang=await bot.figment.chats.language_of(chat)))

    @tree.command(name="stats", description=loc("A record, and how often the generator fools people"))
    @anywhere
    @in_any_chat
    @app_commands.describe(member=loc("Whose record (default: yours)"))
    async def stats(interaction: discord.Interaction, member: Optional[discord.User] = None) -> None:
        who = player_of(member or interaction.user)
        await acknowledge(interaction, private=False)
        await reply(interaction, await _bot(interaction).figment.boards.stats_text(
            chat_of(interaction), who, escape, by=player_of(interaction.user, interaction.locale),
            lang=said_to(interaction).lang))

    @tree.command(name="hall", description=loc("The hall of fakes: the AI faces that fooled the most players"))
    @app_commands.describe(period=loc("This week or all time (default: this week)"))
    @app_commands.choices(period=[Choice(name=loc("this week"), value="week"), Choice(name=loc("all time"), value="all")])
    async def hall(interaction: discord.Interaction, period: Optional[str] = None) -> None:
        await send_hall(interaction, [period] if period else [])

    @tree.command(name="forgetme", description=loc("Delete everything Figment stores about you"))
    async def forgetme(interaction: discord.Interaction) -> None:
        await acknowledge(interaction, private=True)
        await reply(interaction, await _bot(interaction).figment.boards.forget(player_of(interaction.user, interaction.locale)),
                    ephemeral=True)

    @tree.command(name="tips", description=loc("What gives a fake away"))
    async def tips(interaction: discord.Interaction) -> None:
        await reply(interaction, tips_text(None, said_to(interaction).lang), ephemeral=True)  # a list for the asker, not the channel

    @tree.command(name="settings", description=loc("Round length, rounds per game, the quiz channel and the language"))
    @app_commands.default_permissions(manage_guild=True)
    @server_only
    @server_or_bot_dm
    @app_commands.choices(language=[Choice(name=i18n.language_name(code), value=code) for code in i18n.available()])
    @app_commands.describe(seconds=loc("How long a round stays open, in seconds"),
                           rounds=loc("Rounds in a game started without a number"),
                           channel=loc("The channel where games run"),
                           any_channel=loc("Forget the quiz channel: games run where /quiz is used"),
                           language=loc("The language of this server's rounds, reveals and boards"))
    async def settings(interaction: discord.Interaction, seconds: Optional[Range[int, 5, 600]] = None,
                       rounds: Optional[Range[int, 1, MAX_ROUNDS]] = None,
                       channel: Optional[discord.TextChannel] = None, any_channel: bool = False,
                       language: Optional[str] = None) -> None:
        require_the_bot(interaction)
        await acknowledge(interaction, private=True)
        bot, chat = _bot(interaction), chat_of(interaction)
        in_server = interaction.guild_id is not None
        # Discord hides the command from members without Manage Server by default, but a server
        # can change that: the permission that arrives with the interaction decides.
        is_admin = not in_server or interaction.permissions.manage_guild
        changes = seconds is not None or rounds is not None or channel is not None or any_channel \
            or language is not None
        if changes and not is_admin:
            raise UserError(texts.NOT_ADMIN)
        if (channel is not None or any_channel) and not in_server:
            raise UserError(texts.DISCORD_SERVER_ONLY)
        text = await bot.figment.chats.update(chat, is_admin=is_admin, key=None, value=None)
        for key, value in (("seconds", seconds), ("rounds", rounds), ("language", language)):
            if value is not None:
                text = await bot.figment.chats.update(chat, is_admin=True, key=key, value=str(value))
        if channel is not None or any_channel:
            await bot.figment.chats.set_option(chat, QUIZ_CHANNEL, None if any_channel else str(channel.id))
        if in_server:
            current = await bot.presenter.quiz_channel(chat)
            text += "\n" + said_to(interaction).discord_quiz_channel(f"<#{current}>" if current else None)
        await reply(interaction, text, ephemeral=True)

    add_daily_command(tree)
    add_challenge_command(tree)
    add_check_command(tree)
    add_morph_command(tree)
