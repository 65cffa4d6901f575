"""The real-or-fake game, platform-neutral.

A game is a run of rounds in one chat. For each round the core picks the truth at random, makes
the image ahead (bot.round_images), asks the chat's front-end (a QuizPresenter) to post it,
waits until the round's time is up or every expected player has answered, closes it, and asks
the front-end to reveal. Answers arrive from front-ends through QuizService.answer at any time.
All state that matters lives in the database, so a restart can reveal or resume any round.
"""
from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Awaitable, Callable, Protocol

from bot import texts, tips
from bot.answers import AnswerRecorder
from bot.chat_settings import ChatSettings
from bot.database import Database
from bot.errors import UserError
from bot.imaging import PostedImage
from bot.metrics import BotMetrics
from bot.parsing import parse_count
from bot.ratelimit import RateLimiter
from bot.refs import ChatRef, PlayerRef
from bot.game_modes import check_mode
from bot.pair_images import PairImages
from bot.round_images import RoundImage, RoundImages
from bot.settings import Settings
from db import queries as q
from db.queries import AnswerStatus  # front-ends read an answer's status from the core
from db.models import Chat, Game, GeneratedFace, RealPhoto, Round, utcnow
from db.hall import HallRow
from db.modes import PAIRS, SINGLE
from db.scoring import reveal_and_score
from generator.interface import FaceSource, GeneratorBusy, GeneratorError

log = logging.getLogger(__name__)
UNPOSTED_GRACE = timedelta(hours=1)  # a round's close time until its post is confirmed


# --- what the core hands to front-ends ----------------------------------------------------

@dataclass(frozen=True)
class RoundPost:
    round_id: int
    number: int
    total: int
    seconds: int
    image: PostedImage
    pair: bool = False  # two faces, A and B: the buttons are "A is real" / "B is real"

    @property
    def caption(self) -> str:
        if self.pair:
            return texts.pair_caption(self.number, self.total, self.seconds)
        return texts.round_caption(self.number, self.total, self.seconds)


@dataclass(frozen=True)
class Reveal:
    round_id: int
    number: int
    total: int
    is_real: bool
    answers: int
    correct: int
    attribution: str
    tip: str = ""  # what gives a fake away (bot.tips), shown only now
    pair: bool = False  # a pair round: is_real says face A was the real one

    def text(self, limit: int | None = None) -> str:
        """The reveal, at most `limit` characters: the truth and the share always show; a long
        attribution (an operator's photo credits) is cut at a word, with an ellipsis."""
        truth = "REAL photo" if self.is_real else "AI FAKE (this person does not exist)"
        if self.pair:
            truth = texts.pair_truth(self.is_real)
        if self.answers:
            share = f"{self.correct} of {self.answers} got it right ({texts.percent(self.correct / self.answers)})."
        else:
            share = "Nobody answered."
        head = f"Round {self.number}/{self.total}: {'' if self.pair else 'it was a '}{truth}.\n{share}\n"
        if self.tip:
            head += self.tip + "\n"
        if limit is None:
            return head + self.attribution
        return head + texts.clip(self.attribution, limit - len(head))


@dataclass(frozen=True)
class PlayerResult:
    name: str
    answers: int
    correct: int


@dataclass(frozen=True)
class GameSummary:
    game_id: int
    rounds_played: int
    players: list[PlayerResult]
    board_text: str
    stopped: bool = False
    reason: str | None = None  # why a game stopped early, for the players (e.g. the generator is down)
    mode: str = SINGLE  # db.modes: the board shown is the mode's

    def text(self, escape: texts.Escape = texts._plain) -> str:
        head = "Game stopped." if self.stopped else "Game over!"
        lines = [f"{head} {self.rounds_played} rounds played."]
        if self.reason:
            lines.append(self.reason)
        if not self.players:
            lines.append("Nobody answered this time.")
        for place, player in enumerate(self.players, 1):
            lines.append(f"{place}. {escape(player.name)}: {player.correct}/{player.answers} right")
        return "\n".join(lines) + "\n\n" + self.board_text


@dataclass(frozen=True)
class AnswerReply:
    status: AnswerStatus
    text: str


class QuizPresenter(Protocol):
    """What a front-end does for the game. message_ref is the front-end's own, opaque to the core."""

    async def post_round(self, chat: ChatRef, post: RoundPost) -> str: ...

    async def reveal_round(self, chat: ChatRef, message_ref: str, reveal: Reveal) -> None: ...

    async def reveal_apart(self, chat: ChatRef, reveal: Reveal) -> None:
        """Show the reveal as a new message (the round's own message could not be edited)."""


    async def end_game(self, chat: ChatRef, summary: GameSummary) -> None: ...


@dataclass
class _RunningGame:
    game_id: int
    chat: ChatRef
    task: asyncio.Task[None] | None = None
    stop_requested: bool = False
    round_id: int | None = None
    round_done: asyncio.Event = field(default_factory=asyncio.Event)


# --- the service ----------------------------------------------------------------------------

class QuizService:
    def __init__(self, db: Database, source: FaceSource, settings: Settings, boards: "BoardTexts",
                 chats: ChatSettings, hall: Callable[[], Awaitable[list[HallRow]]] | None = None,
                 metrics: BotMetrics | None = None) -> None:
        self.metrics = metrics or BotMetrics()
        self.hall = hall  # the hall of fakes' faces a hard game may show again
        self.db = db
        self.chats = chats
        self.source = source
        self.settings = settings
        self.boards = boards
        self.presenters: dict[str, QuizPresenter] = {}
        self._games: dict[int, _RunningGame] = {}  # by game id
        self._limiter = RateLimiter(settings.quiz_per_minute)
        self._answers = AnswerRecorder(db, metrics=self.metrics)
        self._score_listeners: list[Callable[[ChatRef], Awaitable[None]]] = []
        # Fair coin for each round's truth; tests may swap in their own sequence.
        self.choose_real: Callable[[], bool] = lambda: secrets.randbelow(2) == 1

    def register(self, platform: str, presenter: QuizPresenter) -> None:
        self.presenters[platform] = presenter
        self.metrics.count_games(platform, lambda: sum(g.chat.platform == platform for g in self._games.values()))

    def on_scores_moved(self, listener: Callable[[ChatRef], Awaitable[None]]) -> None:
        """Call listener(chat) after a reveal moved the scores (e.g. to refresh a live board)."""
        self._score_listeners.append(listener)

    # -- starting and stopping --
    async def start(self, chat: ChatRef, by: PlayerRef, rounds: str | int | None = None, mode: str = SINGLE, *,
                    hard: bool = False) -> int:
        """Start a game (of a mode in db.modes) in chat; returns its id. Raises UserError for bad
        input or a running game. A hard game's fake rounds show faces from the hall of fakes while
        it has some."""
        mode = check_mode(mode)
        if hard and mode == PAIRS:  # the hall holds single-image faces
            raise UserError(texts.QUIZ_USAGE)
        maximum = self.settings.max_rounds_per_game
        async with self.db.transaction() as session:
            chat_row = await q.get_or_create_chat(session, chat.platform, chat.chat_id, chat.title)
            total = parse_count(rounds, default=self.chats.rounds_per_game(chat_row), low=1, high=maximum,
                                error=texts.bad_rounds(maximum))
            if await q.active_game(session, chat_row.id) is not None:
                raise UserError(texts.GAME_RUNNING)
            if await q.count_quiz_photos(session, self.settings.photo_packs) == 0:
                raise UserError(texts.NO_PHOTOS)
            self._limiter.check((by.platform, by.user_id))
            player = await q.get_or_create_player(session, by.platform, by.user_id, by.name)
            try:
                game = await q.start_game(session, chat_row.id, player.id, total, self.chats.round_seconds(chat_row),
                                          mode=mode, hard=hard)
            except q.GameAlreadyRunning:
                raise UserError(texts.GAME_RUNNING) from None
        self._launch(game.id, chat, first_number=1)
        return game.id

    async def stop(self, chat: ChatRef) -> None:
        """End the chat's game now: the open round is revealed and the summary posted."""
        async with self.db.transaction() as session:
            chat_row = await q.find_chat(session, chat.platform, chat.chat_id)
            game = await q.active_game(session, chat_row.id) if chat_row else None
        if game is None:
            raise UserError(texts.NO_GAME)
        running = self._games.get(game.id)
        if running is not None and running.task is not None and not running.task.done():
            running.stop_requested = True
            running.round_done.set()
            await asyncio.shield(running.task)
        else:  # a game with no loop in this process (e.g. after a crash): finish it here
            await self._finish(game.id, chat, stopped=True)

    def _launch(self, game_id: int, chat: ChatRef, first_number: int, resume: Round | None = None) -> None:
        running = _RunningGame(game_id, chat)
        self._games[game_id] = running
        running.task = asyncio.create_task(self._run(running, first_number, resume), name=f"quiz-game-{game_id}")

    async def shutdown(self, platform: str | None = None) -> None:
        """Stop the loops (of one platform's chats, or all) without closing rounds: a restart's
        recover() picks them up. A front-end that stops alone passes its platform."""
        games = [g for g in self._games.values() if platform is None or g.chat.platform == platform]
        tasks = [g.task for g in games if g.task is not None and not g.task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for game in games:
            self._games.pop(game.game_id, None)

    # -- the game loop --
    async def _run(self, running: _RunningGame, first_number: int, resume: Round | None) -> None:
        presenter = self.presenters[running.chat.platform]
        stopped, reason = False, None
        ahead: asyncio.Task[None] | None = None
        try:
            async with self.db.transaction() as session:
                game = await session.get(Game, running.game_id)
                assert game is not None
                total, seconds, hard = game.rounds_total, game.round_seconds, game.hard
                pairs = game.mode == PAIRS
            number = first_number
            if pairs:
                images: RoundImages = PairImages(self.db, self.source, self.settings)
            else:
                images = RoundImages(self.db, self.source, self.settings, self.hall if hard else None)
            # The next image is made while the current round runs, and the truth is drawn only
            # once a real and a generated image are both ready: the post's timing hints nothing.
            if first_number <= total:  # a resumed last round needs no next image
                ahead = asyncio.create_task(images.fill())
            if resume is not None:
                await self._wait_and_reveal(running, resume.id, resume.closes_at, resume.message_ref, presenter)
                number = resume.number + 1
            while number <= total and not running.stop_requested:
                await self._pause(running)  # a fixed gap after the start or the last reveal
                if ahead is not None:
                    await ahead
                if running.stop_requested:
                    break
                opened = await self._open_round(running, number, total, seconds, images.take(self.choose_real()))
                if opened is None:  # stopped while the image was being made: post nothing
                    break
                if number < total:
                    ahead = asyncio.create_task(images.fill())
                round_id, post = opened
                running.round_id, running.round_done = round_id, asyncio.Event()
                try:
                    # The front-end may wait here for room in the chat's message budget.
                    message_ref = await presenter.post_round(running.chat, post)
                except Exception:
                    log.exception("could not post round %s; ending the game", round_id)
                    async with self.db.transaction() as session:
                        await q.close_round(session, round_id)
                    reason = texts.ROUND_NOT_POSTED
                    break
                self.metrics.round_posted(running.chat.platform, post.pair)
                # The clock starts now that the post is confirmed, so the caption's seconds are true.
                async with self.db.transaction() as session:
                    closes_at = await q.start_clock(session, round_id, message_ref, seconds)
                await self._wait_and_reveal(running, round_id, closes_at, message_ref, presenter)
                number += 1
            stopped = running.stop_requested or number <= total
        except asyncio.CancelledError:
            raise
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
            self._games.pop(running.game_id, None)
            if ahead is not None:
                _discard(ahead)
        await self._finish(running.game_id, running.chat, stopped=stopped, reason=reason)

    async def _pause(self, running: _RunningGame) -> None:
        running.round_done = asyncio.Event()
        try:
            await asyncio.wait_for(running.round_done.wait(), timeout=self.settings.round_gap_seconds)
        except asyncio.TimeoutError:
            pass

    async def _wait_and_reveal(self, running: _RunningGame, round_id: int, closes_at: datetime,
                               message_ref: str | None, presenter: QuizPresenter) -> None:
        running.round_id = round_id
        # A round never posted (a crash between its row and its post) has no clock: close it now.
        remaining = (q.as_utc(closes_at) - utcnow()).total_seconds() if message_ref else 0.0
        if remaining > 0 and running.chat.expected_players:
            # A resumed round may have had all its answers already (clicks while the bot was down).
            async with self.db.transaction() as session:
                if (await q.round_tally(session, round_id)).answers >= running.chat.expected_players:
                    remaining = 0
        if remaining > 0 and not running.stop_requested:
            try:
                await asyncio.wait_for(running.round_done.wait(), timeout=remaining)
            except asyncio.TimeoutError:
                pass
        await self._close_and_reveal(round_id, running.chat, message_ref, presenter)

    async def _close_and_reveal(self, round_id: int, chat: ChatRef, message_ref: str | None,
                                presenter: QuizPresenter) -> None:
        async with self.db.transaction() as session:
            await q.close_round(session, round_id)
            round_ = await session.get(Round, round_id)
            assert round_ is not None
            game = await session.get(Game, round_.game_id)
            tally = await q.round_tally(session, round_id)
            attribution = await self._attribution(session, round_)
            reveal = Reveal(round_id, round_.number, game.rounds_total if game else round_.number,
                            round_.is_real, tally.answers, tally.correct, attribution,
                            tips.after_reveal(round_.game_id, round_.number, round_.is_real and not round_.pair),
                            round_.pair)
            message_ref = message_ref or round_.message_ref
            revealed = round_.revealed_at is not None
        if revealed:
            return
        # A round never posted has nothing to show; one posted is revealed by editing its message
        # (shown twice after a crash is harmless). An edit the platform keeps refusing is replaced
        # by a new message. Only when neither got through (the platform is away) does the round
        # stay unmarked, for a restart to reveal.
        if message_ref and not await self._show_reveal(chat, message_ref, reveal, presenter):
            return
        if await self.db.retrying(lambda: self._mark_revealed(round_id), f"the reveal of round {round_id}"):
            self.metrics.round_revealed(chat.platform, round_.pair, round_.closes_at, round_.closed_at)
            for listener in self._score_listeners:
                try:
                    await listener(chat)
                except Exception:  # a live board is a nicety: the game goes on without it
                    log.exception("a scores listener failed")

    async def _show_reveal(self, chat: ChatRef, message_ref: str, reveal: Reveal, presenter: QuizPresenter) -> bool:
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

    async def _attribution(self, session, round_: Round) -> str:  # type: ignore[no-untyped-def]
        if round_.pair:  # both faces: the real photo's credit, then the fake's
            return (f"{await self._photo_credit(session, round_.real_photo_id)}\n"
                    f"{await self._face_credit(session, round_.generated_face_id)}")
        if round_.is_real:
            return await self._photo_credit(session, round_.real_photo_id)
        return await self._face_credit(session, round_.generated_face_id)

    @staticmethod
    async def _photo_credit(session, photo_id: int | None) -> str:  # type: ignore[no-untyped-def]
        photo = await session.get(RealPhoto, photo_id) if photo_id else None
        if photo is None:
            return "Real photo (its record has since been removed)."
        parts = [f"Real photo from the '{photo.pack}' pack"]
        if photo.source:
            parts.append(f"source: {photo.source}")
        if photo.licence:
            parts.append(f"licence: {photo.licence}")
        return "; ".join(parts) + "."

    @staticmethod
    async def _face_credit(session, face_id: int | None) -> str:  # type: ignore[no-untyped-def]
        face = await session.get(GeneratedFace, face_id)
        return f"Generated by model {face.model_version}, seed {face.seed}, psi {face.truncation:g}."

    async def _open_round(self, running: _RunningGame, number: int, total: int, seconds: int,
                          prepared: RoundImage) -> tuple[int, RoundPost] | None:
        """The new round's row and post; None (and no row) if a stop came meanwhile."""
        if running.stop_requested:
            return None
        face = prepared.face
        async with self.db.transaction() as session:
            game = await session.get(Game, running.game_id)
            assert game is not None
            face_id = prepared.face_id  # a hall face keeps its record, so its counts go on
            if face is not None and face_id is None:
                face_id = (await q.add_generated_face(session, face.seed, face.psi, face.model_version)).id
            opened = utcnow()
            # No clock yet: start_clock sets the real close time once the post is confirmed. Until
            # then nobody can click (Telegram adds the buttons after the photo; a Discord click
            # can only follow the post), and a generous close time never refuses an early one.
            pair = game.mode == PAIRS
            round_ = await q.add_round(session, game, number, is_real=prepared.is_real,
                                       closes_at=opened + timedelta(seconds=seconds) + UNPOSTED_GRACE,
                                       generated_face_id=face_id, real_photo_id=prepared.photo_id, opened_at=opened,
                                       pair=pair)
            return round_.id, RoundPost(round_.id, number, total, seconds, prepared.posted, pair)

    async def _finish(self, game_id: int, chat: ChatRef, *, stopped: bool, reason: str | None = None) -> None:
        presenter = self.presenters.get(chat.platform)
        async with self.db.transaction() as session:
            open_ids = [r.id for r in await q.open_rounds(session) if r.game_id == game_id]
        for round_id in open_ids:  # a stopped game reveals its open round
            if presenter is not None:
                await self._close_and_reveal(round_id, chat, None, presenter)
        async with self.db.transaction() as session:
            game = await session.get(Game, game_id)
            if game is None or not await q.end_game(session, game_id):
                return  # ended already (a concurrent stop, or before a restart)
            played, mode = await q.rounds_played(session, game_id), game.mode
            results = [PlayerResult(name, answers, correct)
                       for _, name, answers, correct in await q.game_tallies(session, game_id)]
            chat_id = game.chat_id
        board = await self.boards.chat_board_text(chat_id, mode=mode)
        summary = GameSummary(game_id, played, results, board, stopped, reason, mode)
        if presenter is not None:
            try:
                await presenter.end_game(chat, summary)
            except Exception:
                log.exception("could not post the summary of game %s", game_id)

    # -- answers --
    async def answer(self, round_id: int, player: PlayerRef, guess_real: bool,
                     chat: ChatRef | None = None, *, pair: bool = False) -> AnswerReply:
        """Take a click. Front-ends pass the chat it came from: a round of another chat is refused.
        A pair button passes pair=True, guess_real meaning "A is real"; it only fits a pair round."""
        outcome = await self._answers.record(round_id, player, guess_real, chat, pair)
        if outcome.status is q.AnswerStatus.RECORDED:
            self._maybe_close_early(round_id, outcome.answers_so_far)
        text = {
            q.AnswerStatus.RECORDED: texts.ANSWER_RECORDED,
            q.AnswerStatus.ALREADY: texts.ANSWER_ALREADY,
            q.AnswerStatus.CLOSED: texts.ANSWER_CLOSED,
            q.AnswerStatus.NO_ROUND: texts.ANSWER_UNKNOWN,
            q.AnswerStatus.WRONG_KIND: texts.ANSWER_WRONG_KIND,
        }[outcome.status]
        return AnswerReply(outcome.status, text)

    def _maybe_close_early(self, round_id: int, answers: int) -> None:
        for running in self._games.values():
            expected = running.chat.expected_players
            if running.round_id == round_id and expected and answers >= expected:
                running.round_done.set()

    # -- restart --
    async def recover(self, platform: str,
                      expected_players: Callable[[ChatRef], Awaitable[int | None]] | None = None) -> int:
        """After a restart: reveal overdue rounds and resume unfinished games. Returns games resumed.
        expected_players, if given, tells how many players each chat has (see ChatRef), so small
        chats keep closing rounds early after a restart."""
        presenter = self.presenters[platform]
        async with self.db.transaction() as session:
            unrevealed = [(r.id, await session.get(Chat, r.chat_id)) for r in await q.unrevealed_rounds(session, platform)]
        for round_id, chat_row in unrevealed:
            await self._close_and_reveal(round_id, ChatRef(platform, chat_row.platform_chat_id, chat_row.title),
                                         None, presenter)
        async with self.db.transaction() as session:
            games = await q.unfinished_games(session, platform)
            plans = []
            for game in games:
                chat_row = await session.get(Chat, game.chat_id)
                assert chat_row is not None
                last = await q.last_round(session, game.id)
                plans.append((game.id, ChatRef(platform, chat_row.platform_chat_id, chat_row.title), last))
        for game_id, chat, last in plans:
            if game_id in self._games:
                continue
            if expected_players is not None:
                try:
                    chat = replace(chat, expected_players=await expected_players(chat))
                except Exception:  # a count is a nicety: the game resumes without it
                    log.exception("could not count the players of chat %s", chat.chat_id)
            if last is None:
                self._launch(game_id, chat, first_number=1)
            elif last.closed_at is None:
                self._launch(game_id, chat, first_number=last.number + 1, resume=last)
            else:
                self._launch(game_id, chat, first_number=last.number + 1)
        return len(plans)

    async def wait_idle(self) -> None:
        """Wait until every running game has ended (for tests and clean shutdowns)."""
        while self._games:
            tasks = [g.task for g in list(self._games.values()) if g.task is not None]
            await asyncio.gather(*tasks, return_exceptions=True)


def _discard(task: asyncio.Task[None]) -> None:
    """Cancel an image no round will use; a failure of it has nobody left to tell."""
    task.cancel()
    if task.done() and not task.cancelled():
        task.exception()


class BoardTexts(Protocol):
    async def chat_board_text(self, chat_id: int, *, mode: str = SINGLE) -> str: ...


