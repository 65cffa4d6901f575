"""The daily challenge on Telegram: played in the private chat with the bot, one photo at a time.

/daily in a group gets a friendly pointer to the private chat and starts nothing. A round is a
photo with Real / Fake buttons naming the day and the round. A click is recorded first, then
told as the button's answer and in the photo's caption (its buttons go), then the next round or
the finish follows. Everything sent passes the chat's flood lane like every other message (the
application's rate limiter), and the answer is stored before anything is sent, so a message that
fails to go out loses nothing: /daily again shows where the try stands.
"""
from __future__ import annotations

import logging
from typing import Awaitable, Callable

from telegram import Bot, CallbackQuery, Chat, InputFile, Message, Update
from telegram.constants import MessageLimit
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes, filters

from bot import texts
from bot.app import Figment
from bot.daily import DailyFinish, DailyRound
from bot.errors import UserError
from bot.telegram_app.calls import deliver, is_not_modified, is_stale_query
from bot.telegram_app.keyboards import daily_keyboard, parse_daily_answer
from bot.telegram_app.people import player_ref

log = logging.getLogger(__name__)
Context = ContextTypes.DEFAULT_TYPE
Say = Callable[[Update, Context, str], Awaitable[None]]


class DailyHandlers:
    def __init__(self, figment: Figment, say: Say) -> None:  # Handlers.say: the one way to reply
        self.figment = figment
        self.say = say

    def install(self, application: Application) -> None:  # type: ignore[type-arg]
        """Install before Handlers.install: its catch-all for unknown buttons must come after."""
        application.add_handler(CommandHandler("daily", self.daily, filters=filters.UpdateType.MESSAGE))
        application.add_handler(CallbackQueryHandler(self.answer, pattern=r"^d:"))

    async def daily(self, update: Update, context: Context) -> None:
        chat, user = update.effective_chat, update.effective_user
        if chat is None or user is None:
            return
        t = texts.lang(user.language_code)  # the player's own language, in private and in a group
        if chat.type != Chat.PRIVATE:  # the try is private: nothing starts in a group
            await self.say(update, context, t.DAILY_PRIVATE)
            return
        try:
            round_ = await self.figment.daily.start(player_ref(user), context.args or [])
        except UserError as error:
            await self.say(update, context, t.say(error.message))
            return
        await send_round(context.bot, chat.id, round_)

    async def answer(self, update: Update, context: Context) -> None:
        query = update.callback_query
        assert query is not None
        parsed = parse_daily_answer(query.data)
        t = texts.lang(query.from_user.language_code)
        if parsed is None or not isinstance(query.message, Message):
            await _toast(query, t.BUTTON_UNKNOWN)
            return
        day, number, guess_real = parsed
        try:  # stored before anything is said: a lost toast or post still counts the answer once
            step = await self.figment.daily.answer(player_ref(query.from_user), day, number, guess_real)
        except UserError as error:  # yesterday's button, a double click, a try never started
            await _toast(query, t.say(error.message))
            return
        await _toast(query, step.result)
        await _settle(context.bot, query.message, step.result)
        if step.next_round is not None:
            await send_round(context.bot, query.message.chat.id, step.next_round)
        elif step.finish is not None:
            await send_finish(context.bot, query.message.chat.id, step.finish)


async def send_round(bot: Bot, chat_id: int, round_: DailyRound) -> None:
    # Sent with its buttons in one message: a duplicate after a retried timeout is harmless,
    # since the core takes one answer per round and refuses the second kindly.
    photo = InputFile(round_.image.data, filename=round_.image.filename)
    await deliver(lambda: bot.send_photo(chat_id, photo, caption=round_.caption,
                                         reply_markup=daily_keyboard(round_.day, round_.number, texts.lang(round_.lang))),
                  "sendPhoto (daily)")


async def send_finish(bot: Bot, chat_id: int, finish: DailyFinish) -> None:
    for piece in texts.split_message(finish.text(), MessageLimit.MAX_TEXT_LENGTH):
        await deliver(lambda piece=piece: bot.send_message(chat_id, piece), "sendMessage (daily)")


async def _settle(bot: Bot, message: Message, result: str) -> None:
    """The answered round's caption says how it went, and its buttons go. A nicety: the button's
    answer said it already, so a failure here is logged and the game goes on."""
    caption = texts.clip(f"{message.caption or ''}\n{result}".strip(), MessageLimit.CAPTION_LENGTH)
    try:
        await deliver(lambda: bot.edit_message_caption(chat_id=message.chat.id, message_id=message.message_id,
                                                       caption=caption), "editMessageCaption (daily)")
    except BadRequest as error:
        if not is_not_modified(error):
            log.warning("could not edit a daily round's caption: %s", error)
    except TelegramError as error:
        log.warning("could not edit a daily round's caption: %s", error)


async def _toast(query: CallbackQuery, text: str) -> None:
    try:
        await deliver(lambda: query.answer(text), "answerCallbackQuery")
    except BadRequest as error:
        if not is_stale_query(error):  # stale: answered before (e.g. the reply was lost)
            raise
