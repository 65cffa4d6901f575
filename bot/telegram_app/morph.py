"""/morph on Telegram: the animation goes out with sendAnimation (MP4, H.264, no sound)."""
from __future__ import annotations

from telegram import InputFile, ReplyParameters, Update
from telegram.constants import MessageLimit
from telegram.ext import ContextTypes

from bot import texts
from bot.errors import UserError
from bot.edits.morphs import MorphPost
from bot.telegram_app.calls import deliver
from bot.telegram_app.flood import BULK, ChatBusy, sending_as
from bot.telegram_app.people import player_ref

Context = ContextTypes.DEFAULT_TYPE


async def morph(handlers: object, update: Update, context: Context) -> None:
    """`/morph A [B] [psi]`: UserError (shown as the reply by the command wrapper) on bad input."""
    args = context.args or []
    figment = handlers.figment  # type: ignore[attr-defined]
    chat_id = update.effective_chat.id  # type: ignore[union-attr]
    reply_to = handlers._reply_to(update)  # type: ignore[attr-defined]
    try:
        with handlers.room_for(context, chat_id):  # type: ignore[attr-defined]
            await context.bot.send_chat_action(chat_id, "upload_video")  # seconds of work: show it is coming
            post = await figment.morphs.morph_words(player_ref(update.effective_user), args)  # type: ignore[arg-type]
            user = update.effective_user
            t = texts.lang(user.language_code if user else None)  # the asker's language, as for /face
            await send_morph(context, chat_id, post, reply_to, t)
    except ChatBusy as busy:
        raise UserError(texts.later.chat_busy(busy.seconds)) from None  # said in the asker's language


async def send_morph(context: Context, chat_id: int, post: MorphPost, reply_to: ReplyParameters | None,
                     t: texts.Texts = texts.EN) -> None:
    animation = InputFile(post.mp4.data, filename=post.mp4.filename)
    caption = texts.clip(post.caption_in(t), MessageLimit.CAPTION_LENGTH)
    with sending_as(BULK):
        await deliver(lambda: context.bot.send_animation(
            chat_id, animation, caption=caption, reply_parameters=reply_to, duration=max(1, round(post.frames / post.fps)),
            width=post.size, height=post.size), "sendAnimation (morph)")
