"""A one-round challenge anywhere: one real-or-fake image posted into any chat, answered privately.

The front-ends (Telegram inline results, Discord's user-installed /challenge) post the image and
its buttons wherever a user sends it, without the bot in that chat. The sender learns nothing by
sending: the truth is drawn with the image and stays in the database. Each click is recorded as
an ordinary answer (one per person, a unique constraint) and told to the clicker alone at once;
the public message shows only how many answered and the share right so far. The challenge closes
after a set time or number of answers, when the front-end edits the message to reveal it and the
answers move the players' boards (db.scoring, once, in the reveal's transaction).

Languages: the public message (its caption, count and reveal) is said in the sender's language,
kept with the challenge (db.challenges); each clicker's own answer in the clicker's language.

Rounds are kept with the ordinary model (db.challenges); a background task closes challenges
whose time is up, in every process, so a restart reveals what was due while it was down.
"""
from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass
from typing import Protocol

from bot import i18n, texts
from bot.errors import UserError
from bot.imaging import PostedImage
from bot.quiz.next_image import RoundImages
from bot.quiz.reveals import _attribution
from bot.ratelimits import SharedRateLimiter
from bot.refs import PlayerRef
from bot.settings import Settings
from db import challenges as dc
from db.answers import AnswerRequest, AnswerStatus, record_answers
from db.database import Database
from db.games import add_generated_face, close_round, round_tally
from db.models import Round
from db.people import get_or_create_player
from db.scoring import reveal_and_score
from generator.interface import FaceSource, GeneratorBusy, GeneratorError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChallengePost:
    """What a front-end posts: the image and caption, and buttons naming round_id (never the truth)."""

    round_id: int
    image: PostedImage
    caption: str
    seconds: int
    lang: str  # the sender's language (a bot.i18n code): the buttons' labels too


@dataclass(frozen=True)
class ChallengeClick:
    text: str  # for the clicker alone
    recorded: bool


class ChallengePresenter(Protocol):
    """How a front-end shows a challenge's progress and its end. message_ref is the front-end's own."""

    async def show_progress(self, message_ref: str, caption: str, lang: str) -> None: ...

    async def reveal(self, message_ref: str, text: str, lang: str) -> None: ...


class ChallengeService:
    def __init__(self, db: Database, source: FaceSource, settings: Settings, *, poll_seconds: float = 1.0) -> None:
        self.db = db
        self.source = source
        self.settings = settings
        self.poll_seconds = poll_seconds
        self.presenters: dict[str, ChallengePresenter] = {}
        self._locks: dict[int, asyncio.Lock] = {}  # per round: a progress edit never lands after the reveal
        self._limiter = SharedRateLimiter(db, "challenge", settings.face_per_minute)
        self._task: asyncio.Task[None] | None = None

    def register(self, platform: str, presenter: ChallengePresenter) -> None:
        self.presenters[platform] = presenter
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._close_due_forever(), name="challenges")

    async def shutdown(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def seconds_for(self, most: int | None) -> int:
        return min(self.settings.challenge_seconds, most) if most else self.settings.challenge_seconds

    async def create(self, platform: str, player: PlayerRef, *, max_seconds: int | None = None) -> ChallengePost:
        """A new challenge: its truth drawn now, both kinds of image made first (so the time it
        takes says nothing). UserError when over the rate limit or the generator is away."""
        await self._limiter.admit((player.platform, player.user_id))
        images = RoundImages(self.db, self.source, self.settings)
        try:
            await images.fill()
        except GeneratorBusy:
            raise UserError(texts.GENERATOR_BUSY) from None
        except GeneratorError:
            raise UserError(texts.GENERATOR_UNAVAILABLE) from None
        image = images.take(secrets.randbelow(2) == 1)
        seconds = self.seconds_for(max_seconds)
        lang = i18n.normalise(player.lang)
        async with self.db.transaction() as session:
            face_id = None
            if image.face is not None:
                face = image.face
                face_id = (await add_generated_face(session, face.seed, face.psi, face.model_version)).id
            round_id = await dc.add_challenge(session, platform, is_real=image.is_real, seconds=seconds,
                                              generated_face_id=face_id, real_photo_id=image.photo_id, lang=lang)
        return ChallengePost(round_id, image.posted, self.caption(0, 0, seconds, lang=lang), seconds, lang)

    def caption(self, answers: int, correct: int, seconds: int | None = None, *, lang: str | None = None) -> str:
        return texts.lang(lang).challenge_caption(answers, correct, seconds or self.settings.challenge_seconds,
                                                  self.settings.challenge_answers)

    async def posted(self, platform: str, round_id: int, message_ref: str, *, start_clock: bool = True,
                     max_seconds: int | None = None) -> None:
        """The challenge's message is known (sent, or first clicked): where to show progress and the
        reveal. start_clock: its time runs from now."""
        async with self.db.transaction() as session:
            if await dc.find_challenge(session, platform, round_id) is None:
                return
            await dc.set_message(session, round_id, message_ref,
                                 self.seconds_for(max_seconds) if start_clock else None)

    async def answer(self, platform: str, round_id: int, player: PlayerRef, guess_real: bool,
                     message_ref: str | None = None) -> ChallengeClick:
        """Record a click and tell the clicker, privately, whether they were right. The public
        message then shows the new count, or the reveal once enough have answered. The reply is
        in the clicker's language (player.lang)."""
        t = texts.lang(player.lang)
        async with self.db.transaction() as session:
            found = await dc.find_challenge(session, platform, round_id)
            if found is None:
                return ChallengeClick(t.CHALLENGE_UNKNOWN, False)
            if found.message_ref is None and message_ref:  # posted without feedback: its first click says where
                await dc.set_message(session, round_id, message_ref, None)
            row = await get_or_create_player(session, player.platform, player.user_id, player.name)
            [outcome] = await record_answers(session, [AnswerRequest(round_id, row.id, guess_real)])
            tally = await round_tally(session, round_id)
        if outcome.status is AnswerStatus.ALREADY:
            return ChallengeClick(t.ANSWER_ALREADY, False)
        if outcome.status is not AnswerStatus.RECORDED:
            return ChallengeClick(t.CHALLENGE_CLOSED, False)
        reply = ChallengeClick(t.challenge_answer(guess_real == found.is_real, found.is_real), True)
        if tally.answers >= self.settings.challenge_answers:
            asyncio.create_task(self.close_and_reveal(platform, round_id))  # the clicker's toast goes first
        else:
            asyncio.create_task(self._progress(platform, round_id))
        return reply

    async def _progress(self, platform: str, round_id: int) -> None:
        presenter = self.presenters.get(platform)
        async with self._lock(round_id):
            async with self.db.transaction() as session:
                round_ = await session.get(Round, round_id)
                if round_ is None or round_.closed_at is not None or not round_.message_ref or presenter is None:
                    return
                tally, ref, seconds = await round_tally(session, round_id), round_.message_ref, None
                seconds = int((round_.closes_at - round_.opened_at).total_seconds())
                lang = await dc.language_of_round(session, round_)
            try:
                await presenter.show_progress(ref, self.caption(tally.answers, tally.correct, seconds, lang=lang), lang)
            except Exception:  # the count is a nicety; the reveal will show the truth
                log.warning("could not show the progress of challenge %s", round_id, exc_info=True)

    async def close_and_reveal(self, platform: str, round_id: int) -> None:
        """Close the challenge, edit its message to the truth, then score it (once)."""
        presenter = self.presenters.get(platform)
        async with self._lock(round_id):
            async with self.db.transaction() as session:
                await close_round(session, round_id)
                round_ = await session.get(Round, round_id)
                if round_ is None or round_.revealed_at is not None:
                    return
                tally = await round_tally(session, round_id)
                lang = await dc.language_of_round(session, round_)
                text = texts.lang(lang).challenge_reveal(round_.is_real, tally.answers, tally.correct,
                                                         await _attribution(session, round_, lang))
                ref = round_.message_ref
            if ref and presenter is not None:
                try:
                    await presenter.reveal(ref, text, lang)
                except Exception:  # the answers still count: a lost edit must not lose the scores
                    log.exception("could not reveal challenge %s in its message", round_id)

            async def score() -> bool:
                async with self.db.transaction() as session:
                    await dc.end_challenge_game(session, round_id)
                    return await reveal_and_score(session, round_id)
            await self.db.retrying(score, f"the reveal of challenge {round_id}")
        self._locks.pop(round_id, None)

    async def close_due(self) -> int:
        """Close and reveal every challenge whose time is up, of the platforms registered here."""
        count = 0
        for platform in list(self.presenters):
            async with self.db.transaction() as session:
                due = await dc.due_challenges(session, platform)
            for round_id in due:
                await self.close_and_reveal(platform, round_id)
                count += 1
        return count

    async def _close_due_forever(self) -> None:
        while True:
            try:
                await self.close_due()
            except Exception:
                log.exception("closing due challenges failed; trying again")
            await asyncio.sleep(self.poll_seconds)

    def _lock(self, round_id: int) -> asyncio.Lock:
        return self._locks.setdefault(round_id, asyncio.Lock())
