"""One game's loop: pause, post a round, wait for its time or every expected answer, reveal; again.

The next image is made while the current round runs, and the truth is drawn only once a real and
a generated image are both ready, so the post's timing hints nothing. Rounds are posted only
while this process holds the game's lease (bot.quiz.leases): a process that lost its game (to a
takeover after a long pause) stops without posting or ending anything.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Awaitable, Callable

from bot import texts
from db.database import Database
from bot.errors import UserError
from bot.ops.metrics import BotMetrics
from bot.quiz.leases import Leases
from bot.quiz.next_image import PairImages
from bot.quiz.posts import RoundPost
from bot.refs import ChatRef
from bot.quiz.reveals import Reveals
from bot.quiz.next_image import RoundImage, RoundImages
from bot.settings import Settings
from db import leases
from db.clock import db_now
from db.games import add_generated_face, add_round, close_round, round_tally, start_clock
from db.hall import HallRow
from bot.chat_settings import language_of
from db.models import Chat, Game, Round, as_utc
from db.modes import PAIRS
from generator.interface import FaceSource, GeneratorBusy, GeneratorError

log = logging.getLogger(__name__)
UNPOSTED_GRACE = timedelta(hours=1)  # a round's close time until its post is confirmed


@dataclass
class RunningGame:
    game_id: int
    chat: ChatRef
    task: asyncio.Task[None] | None = None
    stop_requested: bool = False
    waiting_round: int | None = None  # the round whose answers may close it early, while it is open
    wake: asyncio.Event = field(default_factory=asyncio.Event)  # a stop, or every expected answer
    # Set once a taken-over game's overdue rounds are revealed (or its work ended): a start may wait for it.
    caught_up: asyncio.Event = field(default_factory=asyncio.Event)

    def close_early_at(self, round_id: int, answers: int) -> None:
        expected = self.chat.expected_players
        if self.waiting_round == round_id and expected and answers >= expected:
            self.wake.set()

    def request_stop(self) -> None:
        self.stop_requested = True
        self.wake.set()


class LostGame(Exception):
    """Another process owns the game now (this one's lease ran out)."""


class GameLoop:
    def __init__(self, db: Database, source: FaceSource, settings: Settings, reveals: Reveals, leases: Leases,
                 hall: Callable[[], Awaitable[list[HallRow]]] | None, choose_real: Callable[[], bool],
                 metrics: BotMetrics) -> None:
        self.metrics = metrics
        self.db = db
        self.source = source
        self.settings = settings
        self.reveals = reveals
        self.leases = leases
        self.hall = hall
        self.choose_real = choose_real

    async def run(self, running: RunningGame, first_number: int, resume: Round | None) -> None:
        presenter = self.reveals.presenters[running.chat.platform]
        stopped, reason = False, None
        ahead: asyncio.Task[None] | None = None
        try:
            async with self.db.transaction() as session:
                game = await session.get(Game, running.game_id)
                assert game is not None
                total, seconds, hard, pairs = game.rounds_total, game.round_seconds, game.hard, game.mode == PAIRS
                if game.stop_requested:  # a /stop reached a process that died before acting on it
                    running.request_stop()
            number = first_number
            if pairs:
                images: RoundImages = PairImages(self.db, self.source, self.settings)
            else:
                images = RoundImages(self.db, self.source, self.settings, self.hall if hard else None)
            if first_number <= total:  # a resumed last round needs no next image
                ahead = asyncio.create_task(images.fill())
            if resume is not None:
                await self._wait_and_reveal(running, resume.id, resume.closes_at, resume.message_ref)
                number = resume.number + 1
            while number <= total and not running.stop_requested:
                await self._pause(running)  # a fixed gap after the start or the last reveal
                if ahead is not None:
                    await self._image_or_stop(running, ahead)
                if running.stop_requested:
                    break
                opened = await self._open_round(running, number, total, seconds, images.take(self.choose_real()))
                if opened is None:  # stopped while the image was being made: post nothing
                    break
                if number < total:
                    ahead = asyncio.create_task(images.fill())
                round_id, post = opened
                try:
                    # The front-end may wait here for room in the chat's message budget.
                    message_ref = await presenter.post_round(running.chat, post)
                except Exception:
                    log.exception("could not post round %s; ending the game", round_id)
                    async with self.db.transaction() as session:
                        await close_round(session, round_id)
                    reason = texts.ROUND_NOT_POSTED
                    break
                self.metrics.round_posted(running.chat.platform, post.pair)
                # The clock starts now that the post is confirmed, so the caption's seconds are true.
                async with self.db.transaction() as session:
                    closes_at = await start_clock(session, round_id, message_ref, seconds)
                await self._wait_and_reveal(running, round_id, closes_at, message_ref)
                number += 1
            stopped = running.stop_requested or number <= total
        except LostGame:
            log.warning("quiz game %s is run by another process now; this one lets go", running.game_id)
            return
        except GeneratorBusy:
            log.warning("quiz game %s stopped: the generator is busy", running.game_id)
            stopped, reason = True, texts.GENERATOR_BUSY
        except GeneratorError:
            log.warning("quiz game %s stopped: the generator is unavailable", running.game_id)
            stopped, reason = True, texts.GENERATOR_UNAVAILABLE
        except UserError as error:  # e.g. a pair round found no readable real photo
            log.warning("quiz game %s stopped: %s", running.game_id, error.message)
            stopped, reason = True, error.message
        except Exception:
            log.exception("quiz game %s failed", running.game_id)
            stopped, reason = True, texts.ERROR
        finally:
            if ahead is not None:
                _discard(ahead)
        await self.reveals.finish(running.game_id, running.chat, stopped=stopped, reason=reason)

    async def _pause(self, running: RunningGame) -> None:
        running.wake = asyncio.Event()
        if running.stop_requested:
            return
        try:
            await asyncio.wait_for(running.wake.wait(), timeout=self.settings.round_gap_seconds)
        except asyncio.TimeoutError:
            pass

    @staticmethod
    async def _image_or_stop(running: RunningGame, ahead: asyncio.Task[None]) -> None:
        """Wait for the next round's image, unless a stop comes first: a /stop right after /quiz
        ends the game at once instead of after the image (best-of-K picking takes seconds)."""
        stop = asyncio.ensure_future(running.wake.wait())
        try:
            await asyncio.wait({ahead, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if ahead.done() and not running.stop_requested:
            ahead.result()  # its failure (the generator busy or down) ends the game as before

    async def _wait_and_reveal(self, running: RunningGame, round_id: int, closes_at: datetime,
                               message_ref: str | None) -> None:
        running.wake = asyncio.Event()
        remaining = 0.0  # a round never posted (a crash between its row and its post) has no clock: close it now
        if message_ref:
            async with self.db.transaction() as session:
                # The database's clock set the close time and judges answers: this process's may be off.
                remaining = (as_utc(closes_at) - await db_now(session)).total_seconds()
                # A resumed round may have had all its answers already (clicks while the bot was down).
                if remaining > 0 and running.chat.expected_players and \
                        (await round_tally(session, round_id)).answers >= running.chat.expected_players:
                    remaining = 0
        if remaining > 0 and not running.stop_requested:
            running.waiting_round = round_id
            try:
                await asyncio.wait_for(running.wake.wait(), timeout=remaining)
            except asyncio.TimeoutError:
                pass
            finally:
                running.waiting_round = None
        await self.reveals.close_and_reveal(round_id, running.chat, message_ref)

    async def _open_round(self, running: RunningGame, number: int, total: int, seconds: int,
                          prepared: RoundImage) -> tuple[int, RoundPost] | None:
        """The new round's row and post; None (and no row) if a stop came meanwhile."""
        if running.stop_requested:
            return None
        face = prepared.face
        async with self.db.transaction() as session:
            opened = await db_now(session)
            # Fencing: the round is added only while the lease holds, in the same transaction.
            if not await leases.holds(session, running.game_id, self.leases.owner, opened):
                raise LostGame()
            game = await session.get(Game, running.game_id)
            assert game is not None
            face_id = prepared.face_id  # a hall face keeps its record, so its counts go on
            if face is not None and face_id is None:
                face_id = (await add_generated_face(session, face.seed, face.psi, face.model_version)).id
            # No clock yet: start_clock sets the real close time once the post is confirmed. Until
            # then nobody can click (Telegram adds the buttons after the photo; a Discord click
            # can only follow the post), and a generous close time never refuses an early one.
            pair = game.mode == PAIRS
            round_ = await add_round(session, game, number, is_real=prepared.is_real,
                                     closes_at=opened + timedelta(seconds=seconds) + UNPOSTED_GRACE,
                                     generated_face_id=face_id, real_photo_id=prepared.photo_id, opened_at=opened,
                                     pair=pair)
            chat_row = await session.get(Chat, game.chat_id)
            lang = language_of(chat_row, running.chat) if chat_row is not None else "en"
            return round_.id, RoundPost(round_.id, number, total, seconds, prepared.posted, pair, lang)


def _discard(task: asyncio.Task[None]) -> None:
    """Cancel an image no round will use; a failure of it has nobody left to tell."""
    task.cancel()
    if task.done() and not task.cancelled():
        task.exception()
