"""The real-or-fake game, platform-neutral: starting, stopping, answers, and which process runs
which game.

A game is a run of rounds in one chat (bot.quiz.loop runs it; bot.quiz.reveals closes, reveals and
ends). Answers arrive from front-ends through QuizService.answer at any time. All state that
matters lives in the database, so another process, or this one after a restart, can reveal or
resume any round. Several processes may share one database: each game has one owner at a time
(a lease, bot.quiz.leases), and a watch task here keeps this process's leases, takes over the
games of a process that stopped renewing, and hears /stop and answers taken by other processes.
"""
from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import replace
from typing import Any, Awaitable, Callable

from bot import texts
from bot.quiz.recorder import AnswerRecorder
from bot.chat_settings import ChatSettings
from db.database import Database
from bot.errors import UserError
from bot.quiz.loop import GameLoop, RunningGame
from bot.quiz.modes import check_mode
from bot.ops.metrics import BotMetrics
from bot.quiz.leases import Leases
from bot.parsing import parse_count
from bot.quiz.posts import AnswerReply, AnswerStatus, BoardTexts, QuizPresenter
from bot.ratelimits import SharedRateLimiter
from bot.refs import ChatRef, PlayerRef
from bot.quiz.reveals import Reveals, ScoreListener
from bot.settings import Settings
from db import leases
from db.games import GameAlreadyRunning, active_game, last_round, start_game, unrevealed_rounds
from db.hall import HallRow
from db.models import Chat, Game
from db.modes import PAIRS, SINGLE
from db.people import find_chat, get_or_create_chat, get_or_create_player
from db.quiz_photos import count_quiz_photos
from generator.interface import FaceSource

log = logging.getLogger(__name__)
ExpectedPlayers = Callable[[ChatRef], Awaitable[int | None]]
STOP_POLL_SECONDS = 0.2  # how often a /stop for another process's game checks that it ended


class QuizService:
    def __init__(self, db: Database, source: FaceSource, settings: Settings, boards: BoardTexts,
                 chats: ChatSettings, hall: Callable[[], Awaitable[list[HallRow]]] | None = None,
                 metrics: BotMetrics | None = None) -> None:
        self.metrics = metrics or BotMetrics()
        self.db = db
        self.source = source  # the quiz's faces (curated, in the app)
        self.chats = chats
        self.settings = settings
        self.presenters: dict[str, QuizPresenter] = {}
        self.leases = Leases(db, settings.game_lease_seconds)
        self._reveals = Reveals(db, self.presenters, boards, self.metrics)
        self._loop = GameLoop(db, source, settings, self._reveals, self.leases, hall, self._choose_real, self.metrics)
        self._games: dict[int, RunningGame] = {}  # the games whose loop runs here, by id
        self._platforms: dict[str, ExpectedPlayers | None] = {}  # the front-ends whose games this process may take
        self._watch: asyncio.Task[None] | None = None
        self._limiter = SharedRateLimiter(db, "quiz", settings.quiz_per_minute)
        self._answers = AnswerRecorder(db, metrics=self.metrics)
        # Fair coin for each round's truth; tests may swap in their own sequence.
        self.choose_real: Callable[[], bool] = lambda: secrets.randbelow(2) == 1

    def _choose_real(self) -> bool:
        return self.choose_real()  # read at each round: a test may swap choose_real after start

    def register(self, platform: str, presenter: QuizPresenter) -> None:
        self.presenters[platform] = presenter
        self.metrics.count_games(platform, lambda: sum(g.chat.platform == platform for g in self._games.values()))

    def on_scores_moved(self, listener: ScoreListener) -> None:
        """Call listener(chat) after a reveal moved the scores (e.g. to refresh a live board)."""
        self._reveals.score_listeners.append(listener)

    async def photo_count(self) -> int:
        """Real photos the quiz can draw from (the held-out split of the chosen packs)."""
        async with self.db.transaction() as session:
            return await count_quiz_photos(session, self.settings.photo_packs)

    # -- starting and stopping --
    async def start(self, chat: ChatRef, by: PlayerRef, rounds: str | int | None = None, mode: str = SINGLE, *,
                    hard: bool = False, options: dict[str, Any] | None = None) -> int:
        """Start a game (of a mode in db.modes) in chat; returns its id. Raises UserError for bad
        input or a running game. A hard game's fake rounds show faces from the hall of fakes while
        it has some. options: the front-end's own values for the chat (such as where the game
        posts), stored in the transaction that starts the game, so whichever process runs it, now
        or after a takeover, reads this game's values (None removes a key)."""
        mode = check_mode(mode)
        if hard and mode == PAIRS:  # the hall holds single-image faces
            raise UserError(texts.QUIZ_USAGE)
        maximum = self.settings.max_rounds_per_game
        async with self.db.transaction() as session:
            chat_row = await get_or_create_chat(session, chat.platform, chat.chat_id, chat.title)
            total = parse_count(rounds, default=self.chats.rounds_per_game(chat_row), low=1, high=maximum,
                                error=texts.later.bad_rounds(maximum))
            if await active_game(session, chat_row.id) is not None:
                raise UserError(texts.GAME_RUNNING)
            if await count_quiz_photos(session, self.settings.photo_packs) == 0:
                raise UserError(texts.NO_PHOTOS)
            await self._limiter.check((by.platform, by.user_id), session)
            player = await get_or_create_player(session, by.platform, by.user_id, by.name)
            try:
                game = await start_game(session, chat_row.id, player.id, total, self.chats.round_seconds(chat_row),
                                        mode=mode, hard=hard)
            except GameAlreadyRunning:
                raise UserError(texts.GAME_RUNNING) from None
            await self.leases.take_new(session, game)
            self.chats.first_language(chat_row, chat, by)
            if options:
                merged = {**(chat_row.settings or {}), **options}
                chat_row.settings = {key: value for key, value in merged.items() if value is not None}
        self._track(game.id, chat, lambda running: self._loop.run(running, 1, None))
        return game.id

    async def stop(self, chat: ChatRef) -> None:
        """End the chat's game now: the open round is revealed and the summary posted, by the
        process that runs the game (this one, another, or this one taking it over)."""
        async with self.db.transaction() as session:
            chat_row = await find_chat(session, chat.platform, chat.chat_id)
            game = await active_game(session, chat_row.id) if chat_row else None
        if game is None:
            raise UserError(texts.NO_GAME)
        running = self._games.get(game.id)
        if running is not None and running.task is not None and not running.task.done():
            running.request_stop()
            await asyncio.shield(running.task)
        elif await self.leases.claim(game.id, own=True):  # no live owner (a crash): finish it here
            finishing = self._track(game.id, chat, lambda _: self._reveals.finish(game.id, chat, stopped=True))
            await asyncio.shield(finishing.task)  # type: ignore[arg-type]
        else:  # another process runs it: ask, and wait (a while) for it to end the game
            async with self.db.transaction() as session:
                await leases.request_stop(session, game.id)
            await self._wait_ended(game.id, timeout=2 * self.settings.game_lease_seconds + 5)

    async def _wait_ended(self, game_id: int, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            async with self.db.transaction() as session:
                if await leases.has_ended(session, game_id):
                    return
            await asyncio.sleep(STOP_POLL_SECONDS)
        log.warning("game %s did not end within %.0f s of its /stop; its owner will end it", game_id, timeout)

    def _track(self, game_id: int, chat: ChatRef, work: Callable[[RunningGame], Awaitable[None]]) -> RunningGame:
        """Run work on a game here, its lease renewed until the work is done. Call it right after
        the claim (no await between): the watch renews every game in self._games."""
        running = RunningGame(game_id, chat)
        self._games[game_id] = running
        running.task = asyncio.create_task(self._run(running, work), name=f"quiz-game-{game_id}")
        self._ensure_watch()
        return running

    async def _run(self, running: RunningGame, work: Callable[[RunningGame], Awaitable[None]]) -> None:
        try:
            await work(running)
        except Exception:
            log.exception("work on game %s failed", running.game_id)
        finally:
            running.caught_up.set()
            if self._games.get(running.game_id) is running:
                del self._games[running.game_id]

    async def shutdown(self, platform: str | None = None) -> None:
        """Stop the loops (of one platform's chats, or all) without closing rounds, and give up
        their leases: another process, or a restart's recover(), picks them up."""
        games = [g for g in self._games.values() if platform is None or g.chat.platform == platform]
        tasks = [g.task for g in games if g.task is not None and not g.task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for game in games:
            self._games.pop(game.game_id, None)
        for name in [p for p in self._platforms if platform is None or p == platform]:
            del self._platforms[name]
        if not self._platforms and not self._games and self._watch is not None:
            self._watch.cancel()
            await asyncio.gather(self._watch, return_exceptions=True)
            self._watch = None
        try:
            await self.leases.release([g.game_id for g in games])
        except Exception:  # the leases then run out by themselves
            log.exception("could not release the leases of %d games", len(games))

    # -- answers --
    async def answer(self, round_id: int, player: PlayerRef, guess_real: bool,
                     chat: ChatRef | None = None, *, pair: bool = False) -> AnswerReply:
        """Take a click. Front-ends pass the chat it came from: a round of another chat is refused.
        A pair button passes pair=True, guess_real meaning "A is real"; it only fits a pair round."""
        outcome = await self._answers.record(round_id, player, guess_real, chat, pair)
        if outcome.status is AnswerStatus.RECORDED:
            for running in self._games.values():  # the owner elsewhere hears of it on its next watch
                running.close_early_at(round_id, outcome.answers_so_far)
        text = {
            AnswerStatus.RECORDED: texts.ANSWER_RECORDED,
            AnswerStatus.ALREADY: texts.ANSWER_ALREADY,
            AnswerStatus.CLOSED: texts.ANSWER_CLOSED,
            AnswerStatus.NO_ROUND: texts.ANSWER_UNKNOWN,
            AnswerStatus.WRONG_KIND: texts.ANSWER_WRONG_KIND,
        }[outcome.status]
        return AnswerReply(outcome.status, text)

    # -- restart and takeover --
    async def recover(self, platform: str, expected_players: ExpectedPlayers | None = None) -> int:
        """At a front-end's start: reveal what a previous run left unrevealed, resume the games no
        live process runs, and from now on take over the platform's games of any process that
        dies. Returns games resumed (once their overdue rounds are revealed; their loops go on).
        expected_players, if given, tells how many players each chat has (see ChatRef), so small
        chats keep closing rounds early after a takeover."""
        self._platforms[platform] = expected_players
        resumed = await self._take_over(platform)
        async with self.db.transaction() as session:  # reveals of ended games an outage left unshown
            unrevealed = [(r.id, await session.get(Chat, r.chat_id)) for r in await unrevealed_rounds(session, platform)
                          if (await session.get(Game, r.game_id)).ended_at is not None]  # type: ignore[union-attr]
        for round_id, chat_row in unrevealed:
            await self._reveals.close_and_reveal(round_id, ChatRef(platform, chat_row.platform_chat_id, chat_row.title))
        self._ensure_watch()
        # Not the watch: a start may wait for the resumed games' overdue reveals.
        await asyncio.gather(*(running.caught_up.wait() for running in resumed))
        return len(resumed)

    async def _take_over(self, platform: str) -> list[RunningGame]:
        """Claim the platform's free games. Only database work is awaited here (the watch calls
        it): each claimed game is tracked, so renewed, the moment its claim commits, and what
        may wait on the network (overdue reveals, a player count, the loop) runs in its task."""
        adopted: list[RunningGame] = []

        def adopt(game_id: int, chat_id: str, title: str) -> None:
            adopted.append(self._track(game_id, ChatRef(platform, chat_id, title),
                                       lambda running: self._resume(running, platform)))

        await self.leases.claim_free(platform, skip=set(self._games), adopt=adopt)
        return adopted

    async def _resume(self, running: RunningGame, platform: str) -> None:
        """A claimed game's task: reveal its overdue rounds, then run its loop from where it stood."""
        game_id = running.game_id
        async with self.db.transaction() as session:
            game = await session.get(Game, game_id)
            if game is None:
                return
            last = await last_round(session, game_id)
            unrevealed = [r.id for r in await unrevealed_rounds(session, platform) if r.game_id == game_id]
        chat = running.chat
        if game.ended_at is not None:  # its owner died between the end and the summary
            log.info("posting the summary of game %s in %s chat %s", game_id, platform, chat.chat_id)
            await self._reveals.post_summary(game_id, chat)
            return
        expected_players = self._platforms.get(platform)
        if expected_players is not None:
            try:
                chat = running.chat = replace(chat, expected_players=await expected_players(chat))
            except Exception:  # a count is a nicety: the game resumes without it
                log.exception("could not count the players of chat %s", chat.chat_id)
        for round_id in unrevealed:
            await self._reveals.close_and_reveal(round_id, chat)
        running.caught_up.set()
        log.info("resuming game %s in %s chat %s", game_id, platform, chat.chat_id)
        if last is None:
            await self._loop.run(running, 1, None)
        elif last.closed_at is None:
            await self._loop.run(running, last.number + 1, last)
        else:
            await self._loop.run(running, last.number + 1, None)

    def _ensure_watch(self) -> None:
        if self._watch is None or self._watch.done():
            self._watch = asyncio.create_task(self._watch_games(), name="quiz-watch")

    async def _watch_games(self) -> None:
        """Keep this process's leases, act on signals from other processes, take over games."""
        poll = self.settings.coordination_poll_seconds
        renew_every = self.leases.seconds / 3  # two renewals may fail before a lease runs out
        loop = asyncio.get_running_loop()
        last_renewal = last_takeover = loop.time()
        while True:
            await asyncio.sleep(poll)
            try:
                await self._hear_signals()
                now = loop.time()
                if now - last_renewal >= renew_every:
                    last_renewal = now
                    await self._renew()
                if now - last_takeover >= self.leases.seconds / 2:
                    last_takeover = now
                    for platform in list(self._platforms):
                        await self._take_over(platform)  # claims only: the games' work runs in their tasks
            except asyncio.CancelledError:
                raise
            except Exception:  # the database away for a moment: the next tick tries again
                log.exception("watching the games failed; trying again")

    async def _renew(self) -> None:
        running = dict(self._games)
        lost = await self.leases.renew(list(running))
        for game_id in lost:
            game = running[game_id]
            if game.task is not None and not game.task.done():
                log.warning("lost the lease of game %s to another process; letting go", game_id)
                game.task.cancel()

    async def _hear_signals(self) -> None:
        running = dict(self._games)
        waiting = {g.waiting_round: g for g in running.values()
                   if g.waiting_round is not None and g.chat.expected_players}
        if not running:
            return
        stops, counts = await self.leases.signals(list(running), list(waiting))
        for game_id in stops:
            running[game_id].request_stop()
        for round_id, answers in counts.items():
            waiting[round_id].close_early_at(round_id, answers)

    async def wait_idle(self) -> None:
        """Wait until every running game has ended (for tests and clean shutdowns)."""
        while self._games:
            tasks = [g.task for g in list(self._games.values()) if g.task is not None]
            await asyncio.gather(*tasks, return_exceptions=True)
