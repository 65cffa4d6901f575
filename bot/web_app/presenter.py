"""The quiz, shown in the playground room: rounds become messages with buttons, reveals edit them."""
from __future__ import annotations

import logging

from bot import texts
from bot.boards import BoardService
from bot.chat_settings import ChatSettings
from bot.quiz.modes import PAIRS, SINGLE
from bot.quiz.posts import GameSummary, Reveal, RoundPost
from bot.refs import ChatRef
from bot.web_app.room import Button, Room

log = logging.getLogger(__name__)


class WebPresenter:
    def __init__(self, room: Room, boards: BoardService, chats: ChatSettings | None = None) -> None:
        self.room = room
        self.boards = boards
        self.chats = chats  # the room's language for its side board (English without one)
        self.board_mode = SINGLE  # the side board follows the mode of the game last played

    def chat(self, expected_players: int | None = None) -> ChatRef:
        return ChatRef("web", self.room.chat_id, self.room.title, expected_players)

    async def post_round(self, chat: ChatRef, post: RoundPost) -> str:
        self.board_mode = PAIRS if post.pair else SINGLE
        t = texts.lang(post.lang)  # the room's language; the buttons' values are the same in all
        if post.pair:
            buttons = [Button(t.BUTTON_A_REAL, "a"), Button(t.BUTTON_B_REAL, "b")]
        else:
            buttons = [Button(t.BUTTON_REAL, "real"), Button(t.BUTTON_FAKE, "fake")]
        message = self.room.post("round", post.caption, image=post.image, round_id=post.round_id, buttons=buttons)
        # A restarted room numbers its messages anew: the epoch keeps an old ref from naming a new message.
        return f"{self.room.epoch}:{message.id}"

    async def reveal_round(self, chat: ChatRef, message_ref: str, reveal: Reveal) -> None:
        epoch, _, message_id = message_ref.rpartition(":")
        message = self.room.get(message_id) if epoch == self.room.epoch else None
        if message is None:  # scrolled out of the room (or posted before a restart): say it anew
            self.room.post("bot", reveal.text())
        else:
            message.text = reveal.text()
            message.buttons = []
            if not reveal.is_real:  # now the truth is out, the face may carry its marks
                message.download = f"/api/rounds/{reveal.round_id}/credentials"
            self.room.changed(message)
        # The board follows once the reveal has moved the scores (see scores_moved).

    async def reveal_apart(self, chat: ChatRef, reveal: Reveal) -> None:
        self.room.post("bot", reveal.text())

    async def scores_moved(self, chat: ChatRef) -> None:
        if chat.platform == "web":
            await self.refresh_board()

    async def end_game(self, chat: ChatRef, summary: GameSummary) -> None:
        self.room.post("summary", summary.text())  # plain text: the page renders it as text
        await self.refresh_board()

    async def _language(self, chat: ChatRef) -> str:
        return await self.chats.language_of(chat) if self.chats is not None else "en"

    async def refresh_board(self) -> None:
        try:
            chat = self.chat()
            self.room.set_board(await self.boards.leaderboard_text(chat, mode=self.board_mode,
                                                                   lang=await self._language(chat)))
        except Exception:  # the board is a nicety; the game goes on without it
            log.exception("could not refresh the playground board")
