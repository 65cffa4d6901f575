"""/check on Telegram: an image sent with the caption /check, or /check in reply to an image.

Photos and image files both work. Bots may download at most 20 MB (getFile refuses more), so a
bigger file is answered from its announced size without downloading it. The per-user limit is
counted before any download (bot.provenance.check.CheckService).
"""
from __future__ import annotations

from typing import Awaitable, Callable

from telegram import Message, Update
from telegram.ext import Application, CommandHandler, ContextTypes, MessageHandler, filters

from bot import texts
from bot.app import Figment
from bot.errors import UserError
from bot.provenance.check import MAX_BYTES, CheckService
from bot.telegram_app.people import PLATFORM

Context = ContextTypes.DEFAULT_TYPE
Say = Callable[[Update, Context, str], Awaitable[None]]
CAPTION = filters.CaptionRegex(r"^/check(@\w+)?(\s|$)")


def _attached(message: Message | None) -> tuple[str, int | None] | None:
    """(file id, announced size) of the image in message: the largest photo size, or a document."""
    if message is None:
        return None
    if message.photo:
        largest = message.photo[-1]
        return largest.file_id, largest.file_size
    if message.document is not None:
        return message.document.file_id, message.document.file_size
    return None


class CheckHandlers:
    def __init__(self, figment: Figment, say: Say) -> None:  # Handlers.say: the one way to reply
        self.figment = figment
        self.say = say

    def install(self, application: Application) -> None:  # type: ignore[type-arg]
        only_new = filters.UpdateType.MESSAGE
        application.add_handler(CommandHandler("check", self.check, filters=only_new))
        application.add_handler(MessageHandler(only_new & CAPTION & (filters.PHOTO | filters.Document.ALL),
                                               self.check))

    async def check(self, update: Update, context: Context) -> None:
        with self.figment.metrics.handling(PLATFORM, "check"):
            await self._check(update, context)

    async def _check(self, update: Update, context: Context) -> None:
        message, user = update.effective_message, update.effective_user
        if message is None or update.effective_chat is None or user is None:
            return
        t = texts.lang(user.language_code)
        found = _attached(message) or _attached(message.reply_to_message)
        if found is None:
            await self.say(update, context, t.CHECK_HOW)
            return
        file_id, size = found
        if size is not None and size > MAX_BYTES:
            await self.say(update, context, t.check_too_big(MAX_BYTES))
            return
        checks = CheckService(self.figment)
        try:
            await checks.admit(PLATFORM, str(user.id))  # the key /face uses: (platform, user id)
        except UserError as error:
            await self.say(update, context, t.say(error.message))
            return
        file = await context.bot.get_file(file_id)
        data = bytes(await file.download_as_bytearray())
        await self.say(update, context, await checks.reply(data, t.lang))
