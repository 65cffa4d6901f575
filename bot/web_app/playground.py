"""What the playground does with a typed message or a click: core calls, results into the room.

The room is one shared chat: what someone types and the bot's answer go to every tab. Refusals
(bad input, rate limits) go only to the one who asked, in the reply to their request.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot import texts
from bot.app import Figment
from bot.boards import parse_board_query
from bot.quiz.modes import parse_quiz_args
from bot.edits.face_edits import is_edit
from bot.errors import UserError
from bot.quiz.tips import tips_text
from bot.quiz.posts import AnswerStatus
from bot.ratelimits import RateLimiter
from bot.ops.starter_photos import StarterPhotos
from bot.refs import PlayerRef
from bot.daily_keys import parse_round_key
from bot.web_app.daily import GUESSES as DAILY_GUESSES, PlaygroundDaily
from bot.web_app.inputs import check_client, check_name, check_text, player_ref
from bot.web_app.presenter import WebPresenter
from bot.web_app.room import Message, Presence, Room

GUESSES = ("real", "fake", "a", "b")  # a single round's buttons, then a pair round's
MESSAGES_PER_MINUTE = 30  # per browser, on top of the core's limits for /face and /quiz


@dataclass
class Reply:
    """What the asking tab gets back: the messages it caused (also sent to every tab) or a refusal."""

    messages: list[Message] = field(default_factory=list)
    error: str | None = None
    toast: str | None = None
    status: str | None = None  # for answers: 'recorded', 'already', 'closed', 'no_round'

    def json(self) -> dict[str, Any]:
        return {"ok": self.error is None, "error": self.error, "toast": self.toast, "status": self.status,
                "messages": [m.event()["message"] for m in self.messages]}


class Playground:
    def __init__(self, figment: Figment, room: Room, presenter: WebPresenter,
                 starter: StarterPhotos | None = None) -> None:
        self.figment = figment
        self.starter = starter
        self.room = room
        self.presenter = presenter
        self.limiter = RateLimiter(MESSAGES_PER_MINUTE)
        self.daily = PlaygroundDaily(figment.daily, room)

    async def say(self, client: object, name: object, text: object, lang: object = None) -> Reply:
        reply = Reply()
        t = texts.lang(lang if isinstance(lang, str) else None)  # the tab's language
        try:
            browser = check_client(client)
            player = player_ref(browser, check_name(name), lang)
            text = check_text(text)
            self.limiter.check(browser)
            command, *args = text.split()
            if command.lower().split("@")[0] == "/daily":  # played alone: the room sees none of it
                reply.messages += await self.daily.start(player, text, args)
                return reply
            reply.messages.append(self.room.post("user", text, name=player.name))
            if text.startswith("/"):
                reply.messages += await self._command(player, text)
        except UserError as error:
            reply.error = t.say(error.message)
        return reply

    async def answer(self, client: object, name: object, round_id: object, guess: object,
                     lang: object = None) -> Reply:
        t = texts.lang(lang if isinstance(lang, str) else None)
        try:
            player = player_ref(check_client(client), check_name(name), lang)
            if not isinstance(round_id, int) or isinstance(round_id, bool) or guess not in GUESSES:
                raise UserError(texts.WEB_BAD_ANSWER)
            message = self.room.round_message(round_id)
            if message is None:  # not a round of this room (ids are shared with other platforms)
                return Reply(toast=t.ANSWER_UNKNOWN, status=AnswerStatus.NO_ROUND.value)
            # "a" and "b" are a pair round's buttons: guess_real then means "A is real"
            result = await self.figment.quiz.answer(round_id, player, guess_real=guess in ("real", "a"),
                                                    pair=guess in ("a", "b"))
        except UserError as error:
            return Reply(error=t.say(error.message))
        if result.status is AnswerStatus.RECORDED and player.name not in message.answered:
            message.answered.append(player.name)
            self.room.changed(message)
        return Reply(toast=t.say(result.text), status=result.status.value)

    async def answer_daily(self, client: object, name: object, key: object, guess: object,
                           lang: object = None) -> Reply:
        """A click on a daily round (this tab's own): its result, then the next round or the finish."""
        t = texts.lang(lang if isinstance(lang, str) else None)
        try:
            player = player_ref(check_client(client), check_name(name), lang)
            parsed = parse_round_key(key)
            if parsed is None or not isinstance(guess, str) or guess not in DAILY_GUESSES:
                raise UserError(texts.WEB_BAD_ANSWER)
        except UserError as error:
            return Reply(error=t.say(error.message))
        try:
            return Reply(messages=await self.daily.answer(player, *parsed, DAILY_GUESSES[guess]))
        except UserError as error:  # yesterday's round, a second click: said under the round
            return Reply(toast=t.say(error.message))

    def online(self, client: object, name: object) -> Presence | None:
        """Who an event stream belongs to; None for a tab with no (valid) name yet: it only watches."""
        try:
            return Presence(check_client(client), check_name(name))
        except UserError:
            return None

    # -- commands --
    async def _command(self, player: PlayerRef, text: str) -> list[Message]:
        command, *args = text.split()
        command = command.lower().split("@")[0]
        chat = self.presenter.chat()
        t = texts.lang(player.lang)  # the asker's own replies; rounds and boards: the room's language
        if command in ("/help", "/start"):
            return [self.room.post("bot", t.HELP)]
        if command == "/face" and is_edit(args):  # /face 42 older, /face 42 age 70 (the sliders send these)
            post = await self.figment.edits.face_words(player, args)
            return [self.room.post("bot", post.caption_in(t), image=post.image)]
        if command == "/face":
            if len(args) > 2:  # as on Telegram: extra words are a mistake, not something to ignore
                raise UserError(texts.FACE_USAGE)
            post = await self.figment.faces.face(player, *args)
            return [self.room.post("bot", t.face_caption(post.seed, post.psi, post.model_version), image=post.image)]
        if command == "/morph":  # the GIF: every browser plays it inline, looping
            post = await self.figment.morphs.morph_words(player, args)
            return [self.room.post("bot", post.caption_in(t), image=post.gif)]
        if command == "/quiz":
            # a round closes early once everyone with a named tab open has answered
            chat = self.presenter.chat(len(self.room.players_online()) or None)
            try:
                mode, rounds, hard = parse_quiz_args(args)
                await self.figment.quiz.start(chat, player, rounds, mode, hard=hard)
            except UserError as error:
                if error.message == texts.NO_PHOTOS:
                    # a first-run import under way (or why there is none) says more than the hint
                    status = self.starter.text() if self.starter is not None else ""
                    raise UserError(status or f"{t.NO_PHOTOS}\n\n{t.WEB_PHOTOS_HINT}") from None
                raise
            return []  # the rounds arrive through the presenter
        if command == "/tips":
            return [self.room.post("bot", tips_text(args, t.lang))]
        if command == "/stop":
            await self.figment.quiz.stop(chat)
            return []
        if command in ("/leaderboard", "/board"):
            period, scope, mode = parse_board_query(args)
            board = await self.figment.boards.leaderboard_text(chat, period, scope, by=player, mode=mode,
                                                               lang=await self.figment.chats.language_of(chat))
            return [self.room.post("bot", board)]
        if command == "/stats":
            return [self.room.post("bot", await self.figment.boards.stats_text(chat, player, by=player, lang=t.lang))]
        if command == "/hall":
            post = await self.figment.hall.hall(player, args)
            return [self.room.post("bot", post.text, image=post.image)]
        if command == "/forgetme":
            done = await self.figment.boards.forget(player)
            await self.presenter.refresh_board()
            return [self.room.post("bot", done)]
        if command == "/settings":
            # the playground runs on the operator's machine: whoever uses it is its admin
            if len(args) > 2:
                raise UserError(texts.SETTINGS_USAGE)
            key, value = (args + [None, None])[:2]
            return [self.room.post("bot", await self.figment.chats.update(
                chat, is_admin=True, key=key, value=value))]
        raise UserError(texts.later.web_unknown_command(command[:40]))
