"""Telegram inline mode: `@bot` in any chat shows faces to send and a challenge to post.

`@bot` is a page of fresh faces with a challenge first; `@bot 42` and `@bot 42 0.7` the seeded
face; `@bot challenge` the challenge alone. Faces are /face's own files (watermark, AI label,
Content Credentials, caption). An inline result cannot upload a photo: each photo is uploaded
once to the operator's storage chat (FIGMENT_TELEGRAM_STORAGE_CHAT) and its file_id reused, or,
in webhook mode with a public HTTPS address, served from that address (PhotoHost) for Telegram
to fetch. Without either, the answer is a result that says how to set it up; a bad query gets a result that
says what to type. Neither is ever an error.

A challenge result is a quiz image with Real / Fake buttons whose data names the round
("c:<round>:r|f"), never the truth. Its clicks arrive with an inline_message_id instead of a
chat; the clicker's own answer is a toast, and the message is edited through that id (its count,
then the reveal) by InlinePresenter, for bot.quiz.challenges.

Languages: results are said in the querier's Telegram language (from.language_code), a toast in
the clicker's, the challenge's public message (caption, buttons, reveal) in its sender's.
"""
from __future__ import annotations

import asyncio
import io
import logging
import re
import secrets
from collections import OrderedDict
from urllib.parse import urlsplit

from aiohttp import web
from PIL import Image

from telegram import (Bot, InlineKeyboardButton, InlineKeyboardMarkup, InlineQueryResultArticle,
                      InlineQueryResultCachedPhoto, InlineQueryResultPhoto, InputFile, InputTextMessageContent,
                      Update)
from telegram.constants import InlineQueryLimit, MessageLimit
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, ChosenInlineResultHandler, ContextTypes, InlineQueryHandler

from bot import texts
from bot.app import Figment
from bot.errors import UserError
from bot.imaging import PostedImage
from bot.telegram_app.calls import deliver, is_not_modified, is_stale_query
from bot.telegram_app.people import PLATFORM, player_ref

log = logging.getLogger(__name__)
Context = ContextTypes.DEFAULT_TYPE
CHALLENGE_DATA = re.compile(r"^c:(?P<round>[0-9]{1,19}):(?P<guess>[rf])$")
CHALLENGE_RESULT = re.compile(r"^c:(?P<round>[0-9]{1,19})$")
# A page changes with every query (fresh faces, a new challenge): never cached, and only for its asker.
FRESH_CACHE = 0
SEEDED_CACHE = 300  # a seed's face never changes: Telegram may serve it from its cache


def challenge_keyboard(round_id: int, t: texts.Texts = texts.EN) -> InlineKeyboardMarkup:
    """t: the sender's language (the buttons are public; their data is the same in all)."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(t.BUTTON_REAL, callback_data=f"c:{round_id}:r"),
                                  InlineKeyboardButton(t.BUTTON_FAKE, callback_data=f"c:{round_id}:f")]])


def message_ref(round_id: int, inline_message_id: str) -> str:
    return f"{round_id} {inline_message_id}"  # an inline message id has no spaces


class PhotoStore:
    """file_ids for photos: each uploaded once to the storage chat (an inline result cannot upload)."""

    def __init__(self, bot: Bot, chat_id: int) -> None:
        self.bot, self.chat_id = bot, chat_id

    async def file_id(self, image: PostedImage) -> str:
        photo = InputFile(image.data, filename=image.filename)
        sent = await deliver(lambda: self.bot.send_photo(self.chat_id, photo, disable_notification=True),
                             "sendPhoto (storage chat)")
        return sent.photo[-1].file_id


class PhotoHost:
    """Photos served from the bot's own public HTTPS address (webhook mode, no storage chat):
    Telegram fetches a result's photo_url itself. Names are random (a challenge's says nothing);
    the last `keep` photos are kept in memory, long enough for Telegram to fetch and cache them."""

    PATH = "/figment-inline"

    def __init__(self, public_url: str, keep: int = 512) -> None:
        parts = urlsplit(public_url)
        self.base = f"{parts.scheme}://{parts.netloc}{self.PATH}/"
        self.keep = keep
        self._photos: OrderedDict[str, bytes] = OrderedDict()

    async def url(self, image: PostedImage) -> str:
        # InlineQueryResultPhoto: "Photo must be in JPEG format" (a /face PNG is converted here).
        data = image.data if image.mime == "image/jpeg" else await asyncio.to_thread(_as_jpeg, image.data)
        name = f"{secrets.token_urlsafe(16)}.jpg"
        self._photos[name] = data
        while len(self._photos) > self.keep:
            self._photos.popitem(last=False)
        return self.base + name

    async def serve(self, request: web.Request) -> web.Response:
        data = self._photos.get(request.match_info.get("name", ""))
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data, content_type="image/jpeg")


def _as_jpeg(data: bytes) -> bytes:
    buffer = io.BytesIO()
    with Image.open(io.BytesIO(data)) as image:
        image.convert("RGB").save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


class InlinePresenter:
    """bot.quiz.challenges' presenter on Telegram: edits through the inline message's id."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def show_progress(self, ref: str, caption: str, lang: str = "en") -> None:
        round_id, inline_id = ref.split(" ", 1)
        await self._edit(inline_id, caption, challenge_keyboard(int(round_id), texts.lang(lang)))

    async def reveal(self, ref: str, text: str, lang: str = "en") -> None:
        await self._edit(ref.split(" ", 1)[1], texts.clip(text, MessageLimit.CAPTION_LENGTH), None)

    async def _edit(self, inline_id: str, caption: str, markup: InlineKeyboardMarkup | None) -> None:
        try:
            await deliver(lambda: self.bot.edit_message_caption(inline_message_id=inline_id, caption=caption,
                                                                reply_markup=markup), "editMessageCaption (inline)")
        except BadRequest as error:
            if not is_not_modified(error):
                raise


class InlineHandlers:
    def __init__(self, figment: Figment, store: PhotoStore | PhotoHost | None) -> None:
        self.figment = figment
        self.store = store

    def install(self, application: Application) -> None:  # type: ignore[type-arg]
        """Before the catch-all for unknown buttons (bot.telegram_app.handlers)."""
        application.add_handler(InlineQueryHandler(self.inline_query))
        application.add_handler(ChosenInlineResultHandler(self.chosen))
        application.add_handler(CallbackQueryHandler(self.challenge_click, pattern=r"^c:"))

    # -- queries --
    async def inline_query(self, update: Update, context: Context) -> None:
        query = update.inline_query
        assert query is not None
        with self.figment.metrics.handling(PLATFORM, "inline_query"):
            player = player_ref(query.from_user)
            t = texts.lang(player.lang)  # the querier's own language: results are theirs alone
            if self.store is None:
                results, cache = [_article("setup", t.INLINE_SETUP_TITLE, t.INLINE_SETUP)], FRESH_CACHE
            else:
                results, cache = await self._results(query.query, player, t)
            # answerInlineQuery takes at most 50 results (Bot API); a page is far smaller.
            await deliver(lambda: query.answer(results[:InlineQueryLimit.RESULTS], cache_time=cache,
                                               is_personal=True), "answerInlineQuery")

    async def _results(self, text: str, player, t: texts.Texts) -> tuple[list, int]:  # type: ignore[no-untyped-def, type-arg]
        words = text.split()
        try:
            if words and words[0].lower() == "challenge" and len(words) == 1:
                return [await self._challenge(player, t)], FRESH_CACHE
            if words:
                if len(words) > 2:
                    raise UserError(texts.FACE_USAGE)
                post = await self.figment.faces.face(player, *(words + [None])[:2])
                return [await self._face_result(post, t)], SEEDED_CACHE
            results = []
            try:
                results.append(await self._challenge(player, t))
            except UserError as error:  # e.g. the challenge limit: the faces still show
                log.info("no challenge on this inline page: %s", error.message)
            await self.figment.faces.admit(player)  # a page counts as one /face
            for _ in range(self.figment.settings.inline_faces):
                results.append(await self._face_result(await self.figment.faces.make(), t))
            return results, FRESH_CACHE
        except UserError as error:  # a bad seed, the rate limit, a busy generator: said as a result
            return [_article("help", t.INLINE_BAD_QUERY_TITLE if words else t.INLINE_BUSY_TITLE,
                             t.say(error.message))], FRESH_CACHE

    async def _photo(self, result_id: str, image: PostedImage, **fields):  # type: ignore[no-untyped-def]
        """A photo result: by file_id (storage chat) or by URL (the bot's own address)."""
        if isinstance(self.store, PhotoHost):
            url = await self.store.url(image)
            return InlineQueryResultPhoto(result_id, url, url, **fields)
        assert self.store is not None
        return InlineQueryResultCachedPhoto(result_id, await self.store.file_id(image), **fields)

    async def _face_result(self, post, t: texts.Texts):  # type: ignore[no-untyped-def]
        return await self._photo(f"f:{post.seed}:{post.psi:g}", post.image, title=t.INLINE_FACE_TITLE,
                                 description=t.inline_face_description(post.seed, post.psi),
                                 caption=t.face_caption(post.seed, post.psi, post.model_version))

    async def _challenge(self, player, t: texts.Texts):  # type: ignore[no-untyped-def]
        post = await self.figment.challenges.create(PLATFORM, player)  # in the sender's language
        return await self._photo(f"c:{post.round_id}", post.image, title=t.INLINE_CHALLENGE_TITLE,
                                 description=t.INLINE_CHALLENGE_DESCRIPTION, caption=post.caption,
                                 reply_markup=challenge_keyboard(post.round_id, texts.lang(post.lang)))

    # -- a result sent (needs /setinlinefeedback in BotFather) --
    async def chosen(self, update: Update, context: Context) -> None:
        chosen = update.chosen_inline_result
        assert chosen is not None
        match = CHALLENGE_RESULT.match(chosen.result_id)
        if match and chosen.inline_message_id:  # the clock starts now that it is in a chat
            round_id = int(match["round"])
            await self.figment.challenges.posted(PLATFORM, round_id, message_ref(round_id, chosen.inline_message_id))

    # -- a click on a challenge --
    async def challenge_click(self, update: Update, context: Context) -> None:
        query = update.callback_query
        assert query is not None
        with self.figment.metrics.handling(PLATFORM, "challenge_answer"):
            match = CHALLENGE_DATA.match(query.data or "")
            if match is None:
                text = texts.lang(query.from_user.language_code).BUTTON_UNKNOWN
            else:
                round_id = int(match["round"])
                ref = message_ref(round_id, query.inline_message_id) if query.inline_message_id else None
                click = await self.figment.challenges.answer(PLATFORM, round_id, player_ref(query.from_user),
                                                             match["guess"] == "r", ref)
                text = click.text
            try:  # the answer is stored before the toast: a lost toast still counts once
                await deliver(lambda: query.answer(text), "answerCallbackQuery (challenge)")
            except BadRequest as error:
                if not is_stale_query(error):
                    raise


def _article(result_id: str, title: str, text: str) -> InlineQueryResultArticle:
    return InlineQueryResultArticle(result_id, title, InputTextMessageContent(text), description=text[:200])
