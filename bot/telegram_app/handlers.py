"""Telegram updates in, core calls out: one small handler per command and button.

Handlers only translate. A UserError from the core becomes a reply (or a toast for buttons);
anything else goes to the error handler, which logs it and says sorry without details.
"""
from __future__ import annotations

import logging
from contextlib import AbstractContextManager, nullcontext
from functools import wraps
from typing import Awaitable, Callable

from telegram import CallbackQuery, Chat, InputFile, ReplyParameters, Update
from telegram.constants import MessageLimit
from telegram.error import BadRequest, TelegramError
from telegram.ext import (Application, ApplicationHandlerStop, CallbackQueryHandler, CommandHandler,
                          ContextTypes, TypeHandler, filters)

from bot import texts
from bot.quiz.tips import tips_text
from bot.app import Figment
from bot.boards import parse_board_query
from bot.quiz.modes import parse_quiz_args
from bot.errors import UserError
from bot.edits.face_edits import EditPost, is_edit
from bot.faces import FacePost
from bot.refs import ChatRef
from bot.ops.seen_updates import UpdateLog
from bot.telegram_app.calls import deliver, is_stale_query
from bot.telegram_app.flood import BULK, ChatBusy, ChatLanes, sending_as
from bot.telegram_app.morph import morph as telegram_morph
from bot.telegram_app.keyboards import ANOTHER_FACE, face_keyboard, parse_answer, parse_pair_answer
from bot.telegram_app.people import PLATFORM, ChatDirectory, chat_title, player_ref

log = logging.getLogger(__name__)
Context = ContextTypes.DEFAULT_TYPE
Handler = Callable[["Handlers", Update, Context], Awaitable[None]]


def command(handler: Handler) -> Handler:
    """A command handler: ignore messages without a sender; show a UserError as the reply."""
    @wraps(handler)
    async def run(self: "Handlers", update: Update, context: Context) -> None:
        if update.effective_user is None or update.effective_chat is None:
            return
        try:
            await handler(self, update, context)
        except UserError as error:  # said to the asker, in their language
            await self.say(update, context, asker(update).say(error.message))
    return run


def asker(update: Update) -> texts.Texts:
    """The texts in the language of whoever sent the update (Telegram's language_code)."""
    user = update.effective_user
    return texts.lang(user.language_code if user else None)


class Handlers:
    def __init__(self, figment: Figment, directory: ChatDirectory) -> None:
        self.figment = figment
        self.directory = directory
        self.seen = UpdateLog(figment.db, PLATFORM)

    def install(self, application: Application, *, once: bool = True) -> None:  # type: ignore[type-arg]
        """once=False: updates are claimed before they reach the application (the webhook receiver)."""
        if once:
            application.add_handler(TypeHandler(Update, self.once), group=-1)
        only_new = filters.UpdateType.MESSAGE  # an edited "/face 42" must not post another face
        for name, callback in (("start", self.start), ("help", self.help), ("face", self.face),
                               ("quiz", self.quiz), ("stop", self.stop), ("leaderboard", self.leaderboard),
                               ("stats", self.stats), ("hall", self.hall), ("forgetme", self.forget_me),
                               ("settings", self.settings), ("tips", self.tips), ("morph", self.morph)):
            application.add_handler(CommandHandler(name, self.timed(name, callback), filters=only_new))
        application.add_handler(CallbackQueryHandler(self.timed("answer", self.answer), pattern=r"^a:"))
        application.add_handler(CallbackQueryHandler(self.timed("pair_answer", self.pair_answer), pattern=r"^p:"))
        application.add_handler(CallbackQueryHandler(self.timed("another_face", self.another_face),
                                                     pattern=f"^{ANOTHER_FACE}$"))
        application.add_handler(CallbackQueryHandler(self.timed("unknown_button", self.unknown_button)))
        if once:
            application.add_handler(TypeHandler(Update, self.finished), group=1)  # after the update's handler
        application.add_error_handler(self.on_error)

    # -- plumbing --
    def timed(self, name: str, callback: Callable[[Update, Context], Awaitable[None]]
              ) -> Callable[[Update, Context], Awaitable[None]]:
        """The callback, with its time counted as handler `name` (bot.ops.metrics)."""
        @wraps(callback)
        async def run(update: Update, context: Context) -> None:
            with self.figment.metrics.handling(PLATFORM, name):
                await callback(update, context)
        return run

    async def once(self, update: Update, context: Context) -> None:
        if not await self.seen.first_time(update.update_id):
            log.info("update %s was delivered again; ignored", update.update_id)
            raise ApplicationHandlerStop

    async def finished(self, update: Update, context: Context) -> None:
        await self.seen.finished(update.update_id)

    @staticmethod
    def plain_ref(chat: Chat) -> ChatRef:
        return ChatRef(PLATFORM, str(chat.id), chat_title(chat))

    @staticmethod
    def _reply_to(update: Update) -> ReplyParameters | None:
        chat, message = update.effective_chat, update.effective_message
        if chat is None or message is None or chat.type == Chat.PRIVATE:
            return None  # in a private chat a quote adds nothing
        return ReplyParameters(message.message_id, allow_sending_without_reply=True)

    async def say(self, update: Update, context: Context, text: str) -> None:
        chat_id = update.effective_chat.id  # type: ignore[union-attr]
        reply_to = self._reply_to(update)
        for piece in texts.split_message(text, MessageLimit.MAX_TEXT_LENGTH):
            await deliver(lambda piece=piece: context.bot.send_message(chat_id, piece, reply_parameters=reply_to),
                          "sendMessage")

    @staticmethod
    async def toast(query: CallbackQuery, text: str | None) -> None:
        try:
            await deliver(lambda: query.answer(text), "answerCallbackQuery")
        except BadRequest as error:
            if not is_stale_query(error):  # stale: answered before (e.g. the reply was lost)
                raise

    @staticmethod
    def room_for(context: Context, chat_id: int) -> AbstractContextManager[None]:
        """Room in the chat's send lane for one face, or ChatBusy (without flood lanes: always)."""
        lanes = context.bot.rate_limiter
        return lanes.room_for(chat_id) if isinstance(lanes, ChatLanes) else nullcontext()

    async def send_face(self, context: Context, chat_id: int, post: FacePost | EditPost,
                        reply_to: ReplyParameters | None, t: texts.Texts = texts.EN) -> None:
        photo = InputFile(post.image.data, filename=post.image.filename)
        # both said in the asker's language t; an edited face's caption also names its edit
        caption = post.caption_in(t) if isinstance(post, EditPost) else t.face_caption(post.seed, post.psi, post.model_version)
        caption = texts.clip(caption, MessageLimit.CAPTION_LENGTH)
        with sending_as(BULK):  # after the game's posts and the chat's replies
            await deliver(lambda: context.bot.send_photo(chat_id, photo, caption=caption,
                                                         reply_markup=face_keyboard(t), reply_parameters=reply_to),
                          "sendPhoto (face)")

    async def on_error(self, update: object, context: Context) -> None:
        log.error("handling a Telegram update failed", exc_info=context.error)
        if not isinstance(update, Update):
            return
        try:  # best effort: the failure may be Telegram itself
            if update.callback_query is not None:
                await update.callback_query.answer(asker(update).ERROR)
            elif update.effective_chat is not None and update.effective_message is not None:
                await context.bot.send_message(update.effective_chat.id, asker(update).ERROR)
        except TelegramError:
            pass

    # -- commands --
    @command
    async def start(self, update: Update, context: Context) -> None:
        await self.say(update, context, asker(update).START)

    @command
    async def help(self, update: Update, context: Context) -> None:
        await self.say(update, context, asker(update).HELP)

    @command
    async def face(self, update: Update, context: Context) -> None:
        args = context.args or []
        if len(args) > 2 and not is_edit(args):
            raise UserError(texts.FACE_USAGE)  # a catalogue text: said in the asker's language
        seed, psi = (args + [None, None])[:2]
        chat_id = update.effective_chat.id  # type: ignore[union-attr]
        try:
            # Asked before the face is drawn: a refused /face costs no GPU time and no rate-limit turn.
            with self.room_for(context, chat_id):
                if is_edit(args):  # /face 42 older, /face 42 age 70 strip ... (bot.edits.face_edits)
                    post = await self.figment.edits.face_words(player_ref(update.effective_user), args)  # type: ignore[arg-type]
                else:
                    post = await self.figment.faces.face(player_ref(update.effective_user), seed, psi)  # type: ignore[arg-type]
                await self.send_face(context, chat_id, post, self._reply_to(update), asker(update))
        except ChatBusy as busy:
            raise UserError(texts.later.chat_busy(busy.seconds)) from None

    @command
    async def morph(self, update: Update, context: Context) -> None:
        await telegram_morph(self, update, context)

    @command
    async def quiz(self, update: Update, context: Context) -> None:
        mode, rounds, hard = parse_quiz_args(context.args or [])
        chat = await self.directory.chat_ref(update.effective_chat)  # type: ignore[arg-type]
        # The core posts the rounds itself, through the presenter.
        await self.figment.quiz.start(chat, player_ref(update.effective_user), rounds, mode,  # type: ignore[arg-type]
                                      hard=hard)

    @command
    async def stop(self, update: Update, context: Context) -> None:
        await self.figment.quiz.stop(self.plain_ref(update.effective_chat))  # type: ignore[arg-type]

    @command
    async def leaderboard(self, update: Update, context: Context) -> None:
        period, scope, mode = parse_board_query(context.args or [])
        chat = self.plain_ref(update.effective_chat)  # type: ignore[arg-type]
        # A board is the chat's: said in the chat's language.
        text = await self.figment.boards.leaderboard_text(chat, period, scope, by=player_ref(update.effective_user),  # type: ignore[arg-type]
                                                          mode=mode, lang=await self.figment.chats.language_of(chat))
        await self.say(update, context, text)

    @command
    async def stats(self, update: Update, context: Context) -> None:
        asker = player_ref(update.effective_user)  # type: ignore[arg-type]
        text = await self.figment.boards.stats_text(self.plain_ref(update.effective_chat), asker, by=asker,  # type: ignore[arg-type]
                                                    lang=asker.lang)
        await self.say(update, context, text)

    @command
    async def hall(self, update: Update, context: Context) -> None:
        post = await self.figment.hall.hall(player_ref(update.effective_user), context.args or [])  # type: ignore[arg-type]
        await self.say(update, context, post.text)
        if post.image is not None:
            photo = InputFile(post.image.data, filename=post.image.filename)
            chat_id = update.effective_chat.id  # type: ignore[union-attr]
            caption = asker(update).HALL_CAPTION
            await deliver(lambda: context.bot.send_photo(chat_id, photo, caption=caption),
                          "sendPhoto (hall)")

    @command
    async def forget_me(self, update: Update, context: Context) -> None:
        await self.say(update, context, await self.figment.boards.forget(player_ref(update.effective_user)))  # type: ignore[arg-type]

    @command
    async def tips(self, update: Update, context: Context) -> None:
        await self.say(update, context, tips_text(context.args or [], asker(update).lang))

    @command
    async def settings(self, update: Update, context: Context) -> None:
        args = context.args or []
        if len(args) > 2:
            raise UserError(texts.SETTINGS_USAGE)
        key, value = (args + [None, None])[:2]
        chat, user = update.effective_chat, update.effective_user
        # Only a change needs the admin check (one getChatMember call); anyone may look.
        is_admin = key is not None and await self.directory.is_admin(chat, user, update.effective_message)  # type: ignore[arg-type]
        text = await self.figment.chats.update(self.plain_ref(chat), is_admin=is_admin, key=key,  # type: ignore[arg-type]
                                                       value=value)
        await self.say(update, context, text)

    # -- buttons --
    async def answer(self, update: Update, context: Context) -> None:
        await self._record_click(update, parse_answer, pair=False)

    async def pair_answer(self, update: Update, context: Context) -> None:
        await self._record_click(update, parse_pair_answer, pair=True)

    async def _record_click(self, update: Update, parse: Callable[[str | None], tuple[int, bool] | None],
                            pair: bool) -> None:
        """A Real/Fake or A/B button: (round, guess) from its data, then the answer, then the toast."""
        query = update.callback_query
        assert query is not None
        parsed = parse(query.data)
        t = texts.lang(query.from_user.language_code)  # a toast is the clicker's alone: their language
        if parsed is None:
            await self.toast(query, t.BUTTON_UNKNOWN)
            return
        round_id, guess = parsed
        # The answer is stored before the toast: if the toast is lost, the answer still counts once.
        chat = self.plain_ref(query.message.chat) if query.message is not None else None
        reply = await self.figment.quiz.answer(round_id, player_ref(query.from_user), guess, chat, pair=pair)
        await self.toast(query, t.say(reply.text))

    async def another_face(self, update: Update, context: Context) -> None:
        query = update.callback_query
        assert query is not None
        t = texts.lang(query.from_user.language_code)
        if query.message is None:
            await self.toast(query, t.BUTTON_UNKNOWN)
            return
        chat_id = query.message.chat.id
        try:
            with self.room_for(context, chat_id):
                await self._another_face(query, context, chat_id, t)
        except ChatBusy as busy:
            await self.toast(query, t.chat_busy(busy.seconds))

    async def _another_face(self, query: CallbackQuery, context: Context, chat_id: int, t: texts.Texts) -> None:
        try:
            await self.figment.faces.admit(player_ref(query.from_user))
        except UserError as error:
            await self.toast(query, t.say(error.message))
            return
        # Answer the button first: a face can take longer than Telegram waits for the answer.
        await self.toast(query, None)
        try:
            post = await self.figment.faces.make()
        except UserError as error:  # e.g. the generator is busy: said in the chat, the button is answered
            refusal = t.say(error.message)
            await deliver(lambda: context.bot.send_message(chat_id, refusal), "sendMessage")
            return
        await self.send_face(context, chat_id, post, None, t)

    async def unknown_button(self, update: Update, context: Context) -> None:
        if update.callback_query is not None:
            await self.toast(update.callback_query, texts.lang(update.callback_query.from_user.language_code).BUTTON_UNKNOWN)
