"""Several bot processes on one PostgreSQL, in the core: one owner per game, takeover of a dead
owner's games, /stop and the early close from any process, a process that lost its game stops,
migrations once under a lock, and rate limits and update de-duplication across processes.

Each "process" is a Figment of its own (its own engine, leases and watch task) on one real
PostgreSQL. A crash is the loss of every task with nothing released, as SIGKILL leaves it; the
two-process tests with real subprocesses and front-ends are in tests/test_multiprocess.py.
"""
from __future__ import annotations

import asyncio
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import AsyncIterator

import pytest
from sqlalchemy import select, update

from bot.app import Figment
from bot.errors import UserError
from bot.refs import ChatRef, PlayerRef
from bot.settings import Settings
from bot.ops.seen_updates import DONE, HANDLE, NOT_NOW, UpdateLog
from db import migrate
from db.models import Answer, Game, Round, utcnow
from generator.serving.direct import DirectSource
from tests.conftest import REPO, RecordingPresenter, add_real_photos, kill_game_tasks, make_settings
from tests.fakes import DrawnFaceModel
from tests.pg_fresh import fresh_schema

LEASE = 2.0
CRASHED: set[int] = set()


async def open_process(settings: Settings) -> tuple[Figment, RecordingPresenter]:
    app = await Figment.open(settings, DirectSource(DrawnFaceModel()))
    presenter = RecordingPresenter()
    app.quiz.register("test", presenter)
    await app.quiz.recover("test")
    return app, presenter


async def crash(app: Figment) -> None:
    """What SIGKILL leaves: every loop gone mid-step, no lease released, no game ended."""
    await kill_game_tasks(app)
    CRASHED.add(id(app))
    await app.close()


@pytest.fixture
async def two(tmp_path: Path) -> AsyncIterator[tuple[Figment, RecordingPresenter, Figment, RecordingPresenter]]:
    url = await fresh_schema()
    settings = make_settings(tmp_path, database_url=url, game_lease_seconds=LEASE, coordination_poll_seconds=0.2)
    first, first_presenter = await open_process(settings)
    await add_real_photos(first, count=4)
    second, second_presenter = await open_process(settings)
    yield first, first_presenter, second, second_presenter
    for app in (first, second):
        if id(app) not in CRASHED:
            await app.close()


async def owner_of(app: Figment, game_id: int) -> str | None:
    async with app.db.transaction() as session:
        return (await session.execute(select(Game.owner).where(Game.id == game_id))).scalar_one()


async def until(check, timeout: float, step: float = 0.05) -> float:  # type: ignore[no-untyped-def]
    """Wait until `await check()` is true; returns the seconds it took."""
    start = time.monotonic()
    while not await check():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not true within {timeout} s")
        await asyncio.sleep(step)
    return time.monotonic() - start


async def test_a_dead_owners_game_is_taken_over_and_finished_once(two) -> None:  # type: ignore[no-untyped-def]
    first, first_presenter, second, second_presenter = two
    chat = ChatRef("test", "room")
    game_id = await first.quiz.start(chat, PlayerRef("test", "ann", "Ann"), rounds=4)
    assert await owner_of(first, game_id) == first.quiz.leases.owner  # one owner from the start
    await first_presenter.next_post(2)
    await crash(first)

    async def taken() -> bool:
        return await owner_of(second, game_id) == second.quiz.leases.owner
    waited = await until(taken, timeout=10)
    round_seconds = second.settings.round_seconds
    assert waited < 2 * round_seconds + 0.5, f"taken over after {waited:.1f} s"  # within two round lengths
    await until(lambda: _summaries(second_presenter), timeout=30)

    posted = [post.number for _, post in first_presenter.posts + second_presenter.posts]
    assert sorted(posted) == [1, 2, 3, 4]  # every round posted, none twice
    assert [n for _, p in second_presenter.posts for n in [p.number]] == [3, 4]  # the survivor went on
    assert len(second_presenter.summaries) == 1 and not first_presenter.summaries  # ended once
    async with second.db.transaction() as session:
        rounds = (await session.execute(select(Round).where(Round.game_id == game_id))).scalars().all()
    assert len(rounds) == 4 and all(r.revealed_at is not None for r in rounds)


async def _summaries(presenter: RecordingPresenter) -> bool:
    return bool(presenter.summaries)


async def _ended(app: Figment, game_id: int) -> bool:
    async with app.db.transaction() as session:
        return (await session.get(Game, game_id, populate_existing=True)).ended_at is not None  # type: ignore[union-attr]


async def test_stop_and_the_early_close_work_from_another_process(two) -> None:  # type: ignore[no-untyped-def]
    first, first_presenter, second, second_presenter = two
    first.settings.round_seconds = 60  # nothing ends by itself while the test runs
    chat = ChatRef("test", "pair-of-players", expected_players=2)
    game_id = await first.quiz.start(chat, PlayerRef("test", "ann", "Ann"), rounds=3)
    post = await first_presenter.next_post(1)

    started = time.monotonic()  # two answers, both taken by the other process, close the round early
    for user in ("ann", "bob"):
        reply = await second.quiz.answer(post.round_id, PlayerRef("test", user, user.title()), True, chat)
        assert reply.status.name == "RECORDED"
    await until(lambda: _revealed(first, post.round_id), timeout=5)
    assert time.monotonic() - started < 3  # not the round's 60 s
    assert [r.round_id for _, _, r in first_presenter.reveals] == [post.round_id]  # by the owner, once

    await first_presenter.next_post(2)
    await second.quiz.stop(ChatRef("test", "pair-of-players"))  # returns once the owner ended it
    assert await _ended(second, game_id)
    assert len(first_presenter.summaries) == 1 and first_presenter.summaries[0][1].stopped
    assert not second_presenter.summaries and not second_presenter.posts
    assert len(first_presenter.posts) == 2 and len(first_presenter.reveals) == 2  # the open round revealed
    with pytest.raises(UserError):
        await second.quiz.stop(chat)  # nothing left to stop


async def _revealed(app: Figment, round_id: int) -> bool:
    async with app.db.transaction() as session:
        return (await session.get(Round, round_id, populate_existing=True)).revealed_at is not None  # type: ignore[union-attr]


async def test_a_process_that_lost_its_game_posts_nothing_more(two) -> None:  # type: ignore[no-untyped-def]
    first, first_presenter, second, second_presenter = two
    first.settings.round_seconds = 1
    chat = ChatRef("test", "stolen")
    game_id = await first.quiz.start(chat, PlayerRef("test", "ann", "Ann"), rounds=10)
    await first_presenter.next_post(1)
    async with first.db.transaction() as session:  # as after a long pause: someone else holds it now
        await session.execute(update(Game).where(Game.id == game_id)
                              .values(owner="elsewhere:1:x", lease_until=utcnow() + timedelta(hours=1)))
    await until(lambda: _no_loop(first, game_id), timeout=5)
    posts = len(first_presenter.posts)
    await asyncio.sleep(2)
    assert len(first_presenter.posts) == posts <= 2  # at most the round it was posting
    assert not first_presenter.summaries and not await _ended(first, game_id)  # and it ended nothing
    assert not second_presenter.posts  # a live lease elsewhere: nobody here takes it


async def _no_loop(app: Figment, game_id: int) -> bool:
    return game_id not in app.quiz._games


async def test_rate_limits_and_update_ids_hold_across_processes(tmp_path: Path) -> None:
    url = await fresh_schema()
    settings = make_settings(tmp_path, database_url=url, face_per_minute=2, reads_per_minute=1)
    first = await Figment.open(settings, DirectSource(DrawnFaceModel()))
    second = await Figment.open(settings, DirectSource(DrawnFaceModel()))
    try:
        ann = PlayerRef("test", "ann", "Ann")
        await first.faces.face(ann, "1")
        await second.faces.face(ann, "2")
        with pytest.raises(UserError, match="ask again in"):
            await first.faces.face(ann, "3")  # the third in a minute, whichever process takes it
        await second.faces.face(PlayerRef("test", "bob", "Bob"), "4")  # another user is not limited
        chat = ChatRef("test", "reads")
        await second.boards.stats_text(chat, ann, by=ann)
        with pytest.raises(UserError, match="ask again in"):
            await first.boards.stats_text(chat, ann, by=ann)

        # Many concurrent requests from both processes: exactly the limit gets through.
        cat = PlayerRef("test", "cat", "Cat")
        results = await asyncio.gather(*(app.faces.admit(cat) for app in (first, second) * 5),
                                       return_exceptions=True)
        assert sum(1 for r in results if r is None) == 2

        # An update is handled by one process: the other, while it runs, is told "not now" (the
        # platform sends it again), and once it is done, "done" (tests/test_telegram_updates_once.py
        # has the dead worker, the heartbeat and the webhook answers).
        logs = UpdateLog(first.db, "telegram"), UpdateLog(second.db, "telegram")
        assert await logs[0].claim(1001) == HANDLE
        assert await logs[1].claim(1001) == NOT_NOW
        await logs[0].finished(1001)
        assert await logs[1].claim(1001) == DONE
        assert await logs[1].claim(1002) == HANDLE
        assert await UpdateLog(first.db, "discord").claim(1001) == HANDLE  # per platform
    finally:
        await first.close()
        await second.close()


async def test_migrations_run_once_under_a_lock() -> None:
    url = await fresh_schema()
    code = "import sys; from db import migrate; migrate.upgrade(sys.argv[1])"
    starts = [await asyncio.create_subprocess_exec(sys.executable, "-c", code, url, cwd=REPO,
                                                   stderr=asyncio.subprocess.PIPE) for _ in range(4)]
    results = await asyncio.gather(*(start.communicate() for start in starts))  # four processes at once
    assert [start.returncode for start in starts] == [0] * 4, [err.decode()[-500:] for _, err in results]
    assert await migrate.current_revision(url) == migrate.head_revision(url)


async def test_answers_taken_by_both_processes_are_recorded_once(two) -> None:  # type: ignore[no-untyped-def]
    first, first_presenter, second, _ = two
    first.settings.round_seconds = 30
    chat = ChatRef("test", "busy")
    game_id = await first.quiz.start(chat, PlayerRef("test", "ann", "Ann"), rounds=1)
    post = await first_presenter.next_post(1)
    players = [PlayerRef("test", f"p{n}", f"P{n}") for n in range(20)]
    clicks = [app.quiz.answer(post.round_id, player, n % 2 == 0, chat)
              for n, player in enumerate(players) for app in (first, second)]  # each clicks in both
    replies = await asyncio.gather(*clicks)
    assert sum(r.status.name == "RECORDED" for r in replies) == 20
    assert sum(r.status.name == "ALREADY" for r in replies) == 20
    async with first.db.transaction() as session:
        answers = (await session.execute(select(Answer).where(Answer.round_id == post.round_id))).scalars().all()
    assert len(answers) == 20
    await first.quiz.stop(chat)
    assert await _ended(first, game_id)


class SummaryNeverSent(RecordingPresenter):
    """A front-end whose summary is still waiting in the chat's send queue when the process dies."""

    async def end_game(self, chat: ChatRef, summary) -> None:  # type: ignore[no-untyped-def]
        await asyncio.Event().wait()


async def test_a_summary_its_owner_died_before_sending_is_posted_by_the_survivor(two) -> None:  # type: ignore[no-untyped-def]
    first, _, second, second_presenter = two
    stuck = SummaryNeverSent()
    first.quiz.register("test", stuck)
    chat = ChatRef("test", "last-words")
    game_id = await first.quiz.start(chat, PlayerRef("test", "ann", "Ann"), rounds=1)
    await until(lambda: _ended(first, game_id), timeout=15)  # ended, its summary not yet sent
    await crash(first)
    await until(lambda: _summaries(second_presenter), timeout=10)
    [(where, summary)] = second_presenter.summaries
    assert where.chat_id == "last-words" and summary.game_id == game_id and summary.rounds_played == 1
    assert not second_presenter.posts  # nothing else of the game is done again
    async with second.db.transaction() as session:
        assert (await session.get(Game, game_id)).summary_due is None  # type: ignore[union-attr]
    await asyncio.sleep(LEASE * 2)
    assert len(second_presenter.summaries) == 1  # posted once


async def test_a_sweep_never_claims_a_game_this_process_runs(two) -> None:  # type: ignore[no-untyped-def]
    first, first_presenter, _, _ = two
    first.settings.round_seconds = 30
    game_id = await first.quiz.start(ChatRef("test", "fresh"), PlayerRef("test", "ann", "Ann"), rounds=2)
    # A sweep whose list of running games was read before this game started must still leave it.
    assert await first.quiz.leases.claim_free("test", skip=set()) == []
    await first_presenter.next_post(1)
    assert list(first.quiz._games) == [game_id]
