"""The quiz, shown in Telegram: what the core asks a front-end to post, reveal and sum up."""
from __future__ import annotations

from functools import wraps
from typing import Any, Awaitable, Callable, TypeVar

from telegram import Bot, InputFile
from telegram.constants import MessageLimit
from telegram.error import BadRequest

from bot import texts
from bot.quiz.posts import GameSummary, Reveal, RoundPost
from bot.refs import ChatRef
from bot.telegram_app.calls import deliver, is_not_modified
from bot.telegram_app.flood import GAME, sending_as
from bot.telegram_app.keyboards import pair_keyboard, round_keyboard

T = TypeVar("T")


def game_first(method: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    """The method's messages go first in their chat's lane."""
    @wraps(method)
    async def run(*args: Any, **kwargs: Any) -> T:
        with sending_as(GAME):
            return await method(*args, **kwargs)
    return run


class TelegramPresenter:
    """Messages go out as plain text (no parse mode), so names and texts show exactly as written.
    Every one goes first in its chat's send lane (flood.GAME): a round's clock is running."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    @game_first
    async def post_round(self, chat: ChatRef, post: RoundPost) -> str:
        # A timed-out send may have gone through: it is not sent again (the core then ends the
        # game), so a round is never posted twice. The photo goes out without buttons, which
        # are added once Telegram confirmed it: a duplicate that slips through (a connection
        # dropped after the send) has no live buttons.
        photo = InputFile(post.image.data, filename=post.image.filename)
        message = await deliver(lambda: self.bot.send_photo(int(chat.chat_id), photo, caption=post.caption),
                                "sendPhoto (round)", retry_timeouts=False)
        try:
            await deliver(lambda: self.bot.edit_message_reply_markup(
                chat_id=int(chat.chat_id), message_id=message.message_id, reply_markup=(pair_keyboard if post.pair else round_keyboard)(post.round_id, texts.lang(post.lang)),
            ), "editMessageReplyMarkup (round)")
        except BadRequest as error:
            if not is_not_modified(error):  # not modified: an earlier try went through
                raise
        return str(message.message_id)

    @game_first
    async def reveal_round(self, chat: ChatRef, message_ref: str, reveal: Reveal) -> None:
        # One edit: the caption tells the truth, and an edit without a keyboard removes the buttons.
        try:
            await deliver(lambda: self.bot.edit_message_caption(
                chat_id=int(chat.chat_id), message_id=int(message_ref),
                caption=reveal.text(MessageLimit.CAPTION_LENGTH),
            ), "editMessageCaption (reveal)")
        except BadRequest as error:
            if not is_not_modified(error):  # not modified: an earlier try went through
                raise

    @game_first
    async def reveal_apart(self, chat: ChatRef, reveal: Reveal) -> None:
        await deliver(lambda: self.bot.send_message(int(chat.chat_id), reveal.text(MessageLimit.MAX_TEXT_LENGTH)),
                      "sendMessage (reveal)")

    @game_first
    async def end_game(self, chat: ChatRef, summary: GameSummary) -> None:
        for piece in texts.split_message(summary.text(), MessageLimit.MAX_TEXT_LENGTH):
            await deliver(lambda piece=piece: self.bot.send_message(int(chat.chat_id), piece), "sendMessage (summary)")
