"""Closing rounds, showing their truth, and ending games: the quiz's steps that move scores.

A round's scores move in the transaction that marks it revealed (db.scoring), once it was shown,
so a reveal shown again after a crash or by a second process counts once. A game ends once
(db.games.end_game): only the caller that ended it posts the summary.
"""
from __future__ import annotations

import logging
from typing import Awaitable, Callable

from bot import texts
from bot.quiz import tips
from db.database import Database
from bot.ops.metrics import BotMetrics
from bot.quiz.posts import BoardTexts, GameSummary, PlayerResult, QuizPresenter, Reveal
from bot.refs import ChatRef
from db.games import close_round, end_game, game_tallies, open_rounds, round_tally, rounds_played, summary_posted
from bot import i18n
from bot.chat_settings import language_of
from db.models import Chat, Game, GeneratedFace, RealPhoto, Round
from db.scoring import reveal_and_score

log = logging.getLogger(__name__)
ScoreListener = Callable[[ChatRef], Awaitable[None]]


class Reveals:
    def __init__(self, db: Database, presenters: dict[str, QuizPresenter], boards: BoardTexts,
                 metrics: BotMetrics) -> None:
        self.db = db
        self.metrics = metrics
        self.presenters = presenters  # by platform, shared with the quiz service
        self.boards = boards
        self.score_listeners: list[ScoreListener] = []

    async def close_and_reveal(self, round_id: int, chat: ChatRef, message_ref: str | None = None) -> None:
        presenter = self.presenters.get(chat.platform)
        async with self.db.transaction() as session:
            await close_round(session, round_id)
            round_ = await session.get(Round, round_id)
            assert round_ is not None
            game = await session.get(Game, round_.game_id)
            tally = await round_tally(session, round_id)
            lang = await _language(session, game, chat)
            attribution = await _attribution(session, round_, lang)
            reveal = Reveal(round_id, round_.number, game.rounds_total if game else round_.number,
                            round_.is_real, tally.answers, tally.correct, attribution,
                            tips.after_reveal(round_.game_id, round_.number, round_.is_real and not round_.pair, lang),
                            round_.pair, lang)
            message_ref = message_ref or round_.message_ref
            revealed = round_.revealed_at is not None
            closes_at, closed_at = round_.closes_at, round_.closed_at
        if revealed or presenter is None:
            return
        # A round never posted has nothing to show; one posted is revealed by editing its message
        # (shown twice after a crash is harmless). An edit the platform keeps refusing is replaced
        # by a new message. Only when neither got through (the platform is away) does the round
        # stay unmarked, for a restart to reveal.
        if message_ref and not await self._show(chat, message_ref, reveal, presenter):
            return
        if await self.db.retrying(lambda: self._mark_revealed(round_id), f"the reveal of round {round_id}"):
            self.metrics.round_revealed(chat.platform, reveal.pair, closes_at, closed_at)
            for listener in self.score_listeners:
                try:
                    await listener(chat)
                except Exception:  # a live board is a nicety: the game goes on without it
                    log.exception("a scores listener failed")

    async def finish(self, game_id: int, chat: ChatRef, *, stopped: bool, reason: str | None = None) -> None:
        """Reveal the game's open round, end the game once, and post its summary."""
        async with self.db.transaction() as session:
            open_ids = [r.id for r in await open_rounds(session) if r.game_id == game_id]
        for round_id in open_ids:  # a stopped game reveals its open round
            await self.close_and_reveal(round_id, chat)
        async with self.db.transaction() as session:
            if not await end_game(session, game_id, stopped=stopped, reason=reason):
                return  # ended already (a concurrent stop, another process, or before a restart)
        await self.post_summary(game_id, chat)

    async def post_summary(self, game_id: int, chat: ChatRef) -> None:
        """Post an ended game's summary if it is still due (its owner may have died before), once."""
        presenter = self.presenters.get(chat.platform)
        async with self.db.transaction() as session:
            game = await session.get(Game, game_id)
            if game is None or game.summary_due is None or presenter is None:
                return
            due, mode, chat_id = game.summary_due, game.mode, game.chat_id
            lang = await _language(session, game, chat)
            played = await rounds_played(session, game_id)
            results = [PlayerResult(name, answers, correct)
                       for _, name, answers, correct in await game_tallies(session, game_id)]
        board = await self.boards.chat_board_text(chat_id, mode=mode, lang=lang)
        reason = due.get("reason")
        summary = GameSummary(game_id, played, results, board, bool(due.get("stopped")),
                              texts.lang(lang).say(reason) if reason else reason, mode, lang)
        try:
            await presenter.end_game(chat, summary)
        except Exception:  # tried: a summary the platform refuses is not tried again
            log.exception("could not post the summary of game %s", game_id)
        async with self.db.transaction() as session:
            await summary_posted(session, game_id)

    @staticmethod
    async def _show(chat: ChatRef, message_ref: str, reveal: Reveal, presenter: QuizPresenter) -> bool:
        try:
            await presenter.reveal_round(chat, message_ref, reveal)  # the front-end retries hiccups itself
            return True
        except Exception:
            log.exception("could not edit the reveal of round %s into its message; posting it apart",
                          reveal.round_id)
        try:
            await presenter.reveal_apart(chat, reveal)
            return True
        except Exception:
            log.exception("could not reveal round %s", reveal.round_id)
            return False

    async def _mark_revealed(self, round_id: int) -> bool:
        # The mark and the scores move together: a reveal shown again after a crash counts once.
        async with self.db.transaction() as session:
            return await reveal_and_score(session, round_id)


async def _language(session, game: Game | None, chat: ChatRef) -> str:  # type: ignore[no-untyped-def]
    """The language of the game's chat (bot.chat_settings.language_of)."""
    row = await session.get(Chat, game.chat_id) if game is not None else None
    return language_of(row, chat) if row is not None else i18n.normalise(chat.lang)


async def _attribution(session, round_: Round, lang: str = "en") -> str:  # type: ignore[no-untyped-def]
    t = texts.lang(lang)
    if round_.pair:  # both faces: the real photo's credit, then the fake's
        return (f"{await _photo_credit(session, round_.real_photo_id, t)}\n"
                f"{await _face_credit(session, round_.generated_face_id, t)}")
    if round_.is_real:
        return await _photo_credit(session, round_.real_photo_id, t)
    return await _face_credit(session, round_.generated_face_id, t)


async def _photo_credit(session, photo_id: int | None, t: texts.Texts) -> str:  # type: ignore[no-untyped-def]
    photo = await session.get(RealPhoto, photo_id) if photo_id else None
    if photo is None:
        return t.photo_credit(None, None, None)
    return t.photo_credit(photo.pack, photo.source, photo.licence)


async def _face_credit(session, face_id: int | None, t: texts.Texts) -> str:  # type: ignore[no-untyped-def]
    face = await session.get(GeneratedFace, face_id)
    return t.face_credit(face.model_version, face.seed, face.truncation)
