"""Leases that hold under load and clock skew: several bot cores on one database (SQLite file or
real PostgreSQL), each with its own engine, leases and watch task.

- a reveal held in a flood lane never holds up the renewals: no game changes hands, and no
  round is revealed twice;
- lease expiry and a round's close follow the database's clock: a core whose own clock is
  3.5 s ahead or behind neither takes a live game nor loses its own, and answers sent in the
  last seconds of a round count whatever the clock of the core that takes them.

A core's clock is skewed by patching the clock the game modules read (`utcnow`) with one that
adds the skew of the calling task's context: the skewed core is opened in a context of its own,
so its watch, game loops and answers see the skew and the other core does not.
"""
from __future__ import annotations

import asyncio
import contextvars
import time
from datetime import timedelta
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, TypeVar

import pytest
from sqlalchemy import select

from bot.app import Figment
from bot.quiz.posts import AnswerStatus
from bot.refs import ChatRef, PlayerRef
from bot.settings import Settings
from db.models import Game, Round, utcnow
from generator.serving.direct import DirectSource
from tests.conftest import RecordingPresenter, add_real_photos, kill_game_tasks, make_settings
from tests.fakes import DrawnFaceModel
from tests.pg_fresh import fresh_database, reachable

T = TypeVar("T")
LEASE = 2.0
SKEW = contextvars.ContextVar("clock_skew_seconds", default=0.0)
# The modules whose clock decided leases and closes; the fixed ones read the database's clock.
CLOCK_MODULES = ("bot.quiz.leases", "bot.quiz.loop", "db.leases", "db.games", "db.answers", "db.scoring")
ANN = PlayerRef("test", "ann", "Ann")


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """One database for the test's cores: a SQLite file, or a PostgreSQL database of its own."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
        return
    if not await reachable():
        pytest.skip("no PostgreSQL server")
    async with fresh_database("leases") as url:
        yield url


@pytest.fixture
def skewable_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    def clock():  # type: ignore[no-untyped-def]
        return utcnow() + timedelta(seconds=SKEW.get())

    for name in CLOCK_MODULES:
        monkeypatch.setattr(importlib.import_module(name), "utcnow", clock, raising=False)


class Core:
    """One bot process's core, run in its own context (its clock's skew)."""

    def __init__(self, app: Figment, presenter: RecordingPresenter, context: contextvars.Context) -> None:
        self.app, self.presenter, self.context = app, presenter, context

    @property
    def owner(self) -> str:
        return self.app.quiz.leases.owner

    async def run(self, work: Awaitable[T]) -> T:
        """Await work in this core's context, as its own process would."""
        return await asyncio.create_task(work, context=self.context)  # type: ignore[arg-type]


async def open_core(settings: Settings, presenter: RecordingPresenter | None = None, skew: float = 0.0) -> Core:
    context = contextvars.copy_context()
    context.run(SKEW.set, skew)
    presenter = presenter or RecordingPresenter()

    async def opening() -> Figment:
        app = await Figment.open(settings, DirectSource(DrawnFaceModel()))
        app.quiz.register("test", presenter)
        await app.quiz.recover("test")  # starts the watch, in this context
        return app
    return Core(await asyncio.create_task(opening(), context=context), presenter, context)


def core_settings(tmp_path: Path, url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(database_url=url, game_lease_seconds=LEASE, coordination_poll_seconds=0.2)
    values.update(overrides)
    return make_settings(tmp_path, **values)


async def owners_meanwhile(app: Figment, game_ids: list[int], until: Callable[[], Awaitable[bool]],
                           timeout: float) -> dict[int, list[str | None]]:
    """Every owner each game had (in order, repeats dropped) until `until()` holds."""
    seen: dict[int, list[str | None]] = {game_id: [] for game_id in game_ids}
    deadline = time.monotonic() + timeout
    while True:
        async with app.db.transaction() as session:
            rows = (await session.execute(select(Game.id, Game.owner).where(Game.id.in_(game_ids)))).all()
        for game_id, owner in rows:
            if owner is not None and (not seen[game_id] or seen[game_id][-1] != owner):
                seen[game_id].append(owner)
        if await until():
            return seen
        assert time.monotonic() < deadline, f"not done within {timeout} s; owners so far {seen}"
        await asyncio.sleep(0.05)


async def close_all(*cores: Core) -> None:
    for core in cores:
        await core.app.close()


# -- a reveal that waits in a flood lane --

class HeldReveals(RecordingPresenter):
    """A front-end whose reveals of some rounds wait in the chat's send queue (a flood lane)."""

    def __init__(self, hold: float) -> None:
        super().__init__()
        self.hold = hold
        self.held: set[int] = set()  # the round ids whose reveal waits
        self.attempts: list[int] = []  # every reveal asked for, held or not
        self.holding = asyncio.Event()

    async def reveal_round(self, chat, message_ref, reveal) -> None:  # type: ignore[no-untyped-def]
        self.attempts.append(reveal.round_id)
        if reveal.round_id in self.held:
            self.holding.set()
            await asyncio.sleep(self.hold)
        await super().reveal_round(chat, message_ref, reveal)


async def crash(core: Core) -> None:
    """What SIGKILL leaves: every task gone mid-step, no lease released, no game ended."""
    await kill_game_tasks(core.app)
    await core.app.close()


async def test_a_reveal_held_in_a_flood_lane_moves_no_lease(db_url: str, tmp_path: Path) -> None:
    """Process C dies while the reveal of its game's round waits; A or B takes the game over and
    its reveal waits 6 s in that chat's flood lane (2 s leases). The game moves once, to one
    survivor, and is revealed there once; the survivors' own games never change hands."""
    long_rounds = core_settings(tmp_path, db_url, round_seconds=30)
    first = await open_core(long_rounds, HeldReveals(hold=6.0))
    await add_real_photos(first.app, count=4)
    second = await open_core(core_settings(tmp_path, db_url, round_seconds=30), HeldReveals(hold=6.0))
    dying = await open_core(core_settings(tmp_path, db_url, round_seconds=1), HeldReveals(hold=3600.0))
    survivors = (first, second)
    try:
        own = [await core.app.quiz.start(ChatRef("test", f"room-{n}"), ANN, rounds=2)
               for n, core in enumerate(survivors)]
        for core in survivors:
            await core.presenter.next_post(1)
        held_game = await dying.app.quiz.start(ChatRef("test", "flooded"), ANN, rounds=2)
        round_id = (await dying.presenter.next_post(1)).round_id
        for core in (first, second, dying):
            core.presenter.held.add(round_id)  # that chat's flood lane holds the reveal everywhere
        await asyncio.wait_for(dying.presenter.holding.wait(), 15)  # closed; its reveal waits
        await crash(dying)

        async def summary_posted() -> bool:
            return any(core.presenter.summaries for core in survivors)
        owners = await owners_meanwhile(first.app, [*own, held_game], summary_posted, timeout=60)
        await asyncio.sleep(LEASE)  # a late second owner would show now

        for game_id, core in zip(own, survivors):
            assert owners[game_id] == [core.owner], f"game {game_id} changed hands: {owners[game_id]}"
        assert len(owners[held_game]) == 2 and owners[held_game][0] == dying.owner, owners[held_game]
        taker = next(core for core in survivors if core.owner == owners[held_game][1])
        attempts = [r for core in survivors for r in core.presenter.attempts]
        assert attempts.count(round_id) == 1, f"round {round_id} revealed {attempts.count(round_id)} times"
        assert [p.number for c, p in taker.presenter.posts if c.chat_id == "flooded"] == [2]  # it went on
        summaries = [s for core in survivors for _, s in core.presenter.summaries]
        assert [s.game_id for s in summaries] == [held_game] and not summaries[0].stopped
        for game_id in own:  # still running where they started, on leases that hold
            async with first.app.db.transaction() as session:
                game = await session.get(Game, game_id)
                assert game is not None and game.ended_at is None
    finally:
        await close_all(first, second)


# -- clocks that disagree --

@pytest.mark.parametrize("skewed", ["taker ahead", "owner behind"])
async def test_a_skewed_clock_takes_no_live_game(db_url: str, tmp_path: Path, skewable_clock: None,
                                                 skewed: str) -> None:
    """The owner renews on time; the other core's clock is 3.5 s ahead (it would see the lease
    run out early), or the owner's clock is 3.5 s behind (its renewals would land in the past).
    Over several leases the game stays with its owner and the other core posts nothing."""
    settings = core_settings(tmp_path, db_url, round_seconds=30)
    owner = await open_core(settings, skew=-3.5 if skewed == "owner behind" else 0.0)
    await add_real_photos(owner.app, count=4)
    other = await open_core(settings, skew=3.5 if skewed == "taker ahead" else 0.0)
    try:
        game_id = await owner.run(owner.app.quiz.start(ChatRef("test", "steady"), ANN, rounds=2))
        await owner.presenter.next_post(1)
        deadline = time.monotonic() + 3 * LEASE

        async def later() -> bool:
            return time.monotonic() > deadline
        owners = await owners_meanwhile(owner.app, [game_id], later, timeout=30)
        assert owners[game_id] == [owner.owner], f"the game changed hands: {owners[game_id]}"
        assert not other.presenter.posts and game_id in owner.app.quiz._games
    finally:
        await close_all(owner, other)


@pytest.mark.parametrize("skewed", ["worker ahead", "owner behind"])
async def test_answers_in_the_last_seconds_count_by_the_databases_clock(
        db_url: str, tmp_path: Path, skewable_clock: None, skewed: str) -> None:
    """An 8 s round; an answer sent 2.5 s before its close reaches another core (a webhook
    worker, another shard) whose clock runs 3.5 s ahead, or the owner's clock runs 3.5 s behind
    (so its close time would be early). The answer counts and is in the reveal."""
    seconds = 8
    settings = core_settings(tmp_path, db_url, round_seconds=seconds)
    owner = await open_core(settings, skew=-3.5 if skewed == "owner behind" else 0.0)
    await add_real_photos(owner.app, count=4)
    worker = await open_core(settings, skew=3.5 if skewed == "worker ahead" else 0.0)
    chat = ChatRef("test", "last-call")
    try:
        await owner.run(owner.app.quiz.start(chat, ANN, rounds=1))
        post = await owner.presenter.next_post(1)
        posted = time.monotonic()  # the clock starts as the post is confirmed
        await asyncio.sleep(max(0.0, posted + seconds - 2.5 - time.monotonic()))
        reply = await worker.run(worker.app.quiz.answer(post.round_id, PlayerRef("test", "bo", "Bo"), True, chat))
        assert reply.status is AnswerStatus.RECORDED, f"{reply.status} with 2.5 s left"
        await asyncio.wait_for(owner.app.quiz.wait_idle(), 20)
        [(_, _, reveal)] = owner.presenter.reveals
        assert reveal.round_id == post.round_id and reveal.answers == 1
        async with owner.app.db.transaction() as session:
            round_ = await session.get(Round, post.round_id)
            assert round_ is not None and round_.closed_at is not None and round_.closed_at >= round_.closes_at
    finally:
        await close_all(owner, worker)


async def test_a_game_whose_summary_went_out_is_never_claimed_again(db_url: str, tmp_path: Path) -> None:
    """Once a game's summary is posted nothing is left to do in it: when its lease has run out,
    no sweep claims it again (each claim would cost every process a resume, sweep after sweep)."""
    from db import leases

    core = await open_core(core_settings(tmp_path, db_url, round_seconds=1))
    try:
        await add_real_photos(core.app)
        game_id = await core.app.quiz.start(ChatRef("test", "done"), ANN, rounds=1)
        await asyncio.wait_for(core.app.quiz.wait_idle(), 20)
        assert len(core.presenter.summaries) == 1
        await core.app.quiz.shutdown()  # its sweeps stop too
        await asyncio.sleep(LEASE + 0.5)  # the last lease on the game has run out
        async with core.app.db.transaction() as session:
            assert await leases.claimable_games(session, "test", "another:1:x") == []
            assert not await leases.claim_game(session, game_id, "another:1:x", LEASE)
    finally:
        await close_all(core)
