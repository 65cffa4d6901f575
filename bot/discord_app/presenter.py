"""The quiz on Discord: rounds are channel messages with persistent Real / Fake buttons.

A server's game runs in one channel (the configured quiz channel, else where /quiz was used).
That channel is kept with the chat's options so a restarted bot posts the next rounds there;
a round's message reference is "<channel id>:<message id>", enough to edit it after a restart.
"""
from __future__ import annotations

import io
from dataclasses import replace
from typing import TYPE_CHECKING

import discord

from bot.discord_app.buttons import pair_view, round_view
from bot.discord_app.people import MESSAGE_LIMIT, escape, pieces
from bot.quiz_posts import GameSummary, Reveal, RoundPost
from bot.refs import ChatRef

if TYPE_CHECKING:
    from bot.app import Figment

GAME_CHANNEL = "discord_game_channel"  # chat option: where the running (or last) game posts
QUIZ_CHANNEL = "discord_quiz_channel"  # chat option: set by /settings channel
PLAYERS = "discord_expected_players"  # chat option: 1 in direct messages, so a restart keeps it


class DiscordPresenter:
    def __init__(self, client: discord.Client, figment: "Figment") -> None:
        self.client = client
        self.figment = figment
        self._channels: dict[str, int] = {}  # chat id -> game channel, ahead of the stored option

    async def quiz_channel(self, chat: ChatRef) -> int | None:
        value = await self.figment.chats.option(chat, QUIZ_CHANNEL)
        return int(value) if value else None

    async def game_started(self, chat: ChatRef, channel_id: int) -> None:
        """Call right after quiz.start() returns, before anything else awaits: the new game's
        task has not run yet, so its first round already finds its channel here."""
        self._channels[chat.chat_id] = channel_id
        await self.figment.chats.set_option(chat, GAME_CHANNEL, str(channel_id))
        if chat.expected_players is not None:
            await self.figment.chats.set_option(chat, PLAYERS, chat.expected_players)

    async def expected_players(self, chat: ChatRef) -> int | None:
        """For quiz.recover(): a direct message's one player still closes rounds early."""
        value = await self.figment.chats.option(chat, PLAYERS)
        return int(value) if value else None

    async def _channel(self, chat: ChatRef) -> discord.PartialMessageable:
        channel_id = self._channels.get(chat.chat_id)
        if channel_id is None:
            stored = await self.figment.chats.option(chat, GAME_CHANNEL)
            # a direct message chat is its own channel
            channel_id = int(stored) if stored else int(chat.chat_id)
            self._channels[chat.chat_id] = channel_id
        return self.client.get_partial_messageable(channel_id)

    # -- QuizPresenter --
    async def post_round(self, chat: ChatRef, post: RoundPost) -> str:
        channel = await self._channel(chat)
        file = discord.File(io.BytesIO(post.image.data), filename=post.image.filename)
        view = (pair_view if post.pair else round_view)(post.round_id)
        message = await channel.send(post.caption, file=file, view=view)
        return f"{channel.id}:{message.id}"

    async def reveal_round(self, chat: ChatRef, message_ref: str, reveal: Reveal) -> None:
        channel_id, message_id = (int(part) for part in message_ref.split(":"))
        message = self.client.get_partial_messageable(channel_id).get_partial_message(message_id)
        await message.edit(content=reveal.text(MESSAGE_LIMIT), view=(pair_view if reveal.pair else round_view)(reveal.round_id, disabled=True))

    async def reveal_apart(self, chat: ChatRef, reveal: Reveal) -> None:
        await (await self._channel(chat)).send(reveal.text(MESSAGE_LIMIT))

    async def end_game(self, chat: ChatRef, summary: GameSummary) -> None:
        channel = await self._channel(chat)
        # the core's board text is plain; rebuild it with names escaped for Discord
        board = await self.figment.boards.leaderboard_text(chat, "all", "chat", escape, mode=summary.mode)
        for piece in pieces(replace(summary, board_text=board).text(escape)):
            await channel.send(piece)
