"""The quiz on Discord: rounds are channel messages with persistent Real / Fake buttons.

A server's game runs in one channel (the configured quiz channel, else where /quiz was used).
That channel is stored with the chat in the transaction that starts the game, and read from the
database at every post: whichever process runs the game (after a restart or a takeover) posts in
the channel of this game, never one it remembers from an earlier game. A round's message
reference is "<channel id>:<message id>", enough to edit it after a restart.
"""
from __future__ import annotations

import io
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import discord

from bot import texts
from bot.discord_app.buttons import pair_view, round_view
from bot.discord_app.people import MESSAGE_LIMIT, escape, pieces
from bot.quiz.posts import GameSummary, Reveal, RoundPost
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

    async def quiz_channel(self, chat: ChatRef) -> int | None:
        value = await self.figment.chats.option(chat, QUIZ_CHANNEL)
        return int(value) if value else None

    @staticmethod
    def start_options(chat: ChatRef, channel_id: int) -> dict[str, Any]:
        """The chat options a new game stores as it starts (quiz.start(options=...)): its channel,
        and the player count a restart needs (1 in direct messages)."""
        return {GAME_CHANNEL: str(channel_id), PLAYERS: chat.expected_players}

    async def expected_players(self, chat: ChatRef) -> int | None:
        """For quiz.recover(): a direct message's one player still closes rounds early."""
        value = await self.figment.chats.option(chat, PLAYERS)
        return int(value) if value else None

    async def _channel(self, chat: ChatRef) -> discord.PartialMessageable:
        # Read each time, never cached: another process may have started the chat's next game elsewhere.
        stored = await self.figment.chats.option(chat, GAME_CHANNEL)
        # a direct message chat is its own channel
        return self.client.get_partial_messageable(int(stored) if stored else int(chat.chat_id))

    # -- QuizPresenter --
    async def post_round(self, chat: ChatRef, post: RoundPost) -> str:
        channel = await self._channel(chat)
        file = discord.File(io.BytesIO(post.image.data), filename=post.image.filename)
        view = (pair_view if post.pair else round_view)(post.round_id, t=texts.lang(post.lang))
        message = await channel.send(post.caption, file=file, view=view)
        return f"{channel.id}:{message.id}"

    async def reveal_round(self, chat: ChatRef, message_ref: str, reveal: Reveal) -> None:
        channel_id, message_id = (int(part) for part in message_ref.split(":"))
        message = self.client.get_partial_messageable(channel_id).get_partial_message(message_id)
        await message.edit(content=reveal.text(MESSAGE_LIMIT), view=(pair_view if reveal.pair else round_view)(reveal.round_id, disabled=True,
                                                                     t=texts.lang(reveal.lang)))

    async def reveal_apart(self, chat: ChatRef, reveal: Reveal) -> None:
        await (await self._channel(chat)).send(reveal.text(MESSAGE_LIMIT))

    async def end_game(self, chat: ChatRef, summary: GameSummary) -> None:
        channel = await self._channel(chat)
        # the core's board text is plain; rebuild it with names escaped for Discord
        board = await self.figment.boards.leaderboard_text(chat, "all", "chat", escape, mode=summary.mode,
                                                           lang=summary.lang)
        for piece in pieces(replace(summary, board_text=board).text(escape)):
            await channel.send(piece)
