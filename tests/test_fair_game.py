"""A fair game: nothing tells the truth before the reveal (no score, board, count or timing),
a race on a row loses no answer, and reads are cheap and rate limited."""
from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path
from typing import AsyncIterator

import pytest
from sqlalchemy import event, func, select

from bot import texts
from bot.app import Figment
from bot.errors import UserError
from bot.quiz.posts import Reveal, RoundPost
from bot.refs import ChatRef, PlayerRef
from db.answers import AnswerStatus
from db.models import Answer
from generator.serving.direct import DirectSource
from tests.conftest import PlatformAway, RecordingPresenter, add_real_photos, make_settings
from tests.db_faults import race_on_insert
from tests.fakes import DrawnFaceModel

CHAT = ChatRef("test", "fair", "Fair chat")  # no expected players: a round stays open its whole time


def player(n: int) -> PlayerRef:
    return PlayerRef("test", f"user-{n}", f"Player {n}")


@pytest.fixture
async def long_rounds(tmp_path: Path) -> AsyncIterator[Figment]:
    figment = await Figment.open(make_settings(tmp_path, round_seconds=60), DirectSource(DrawnFaceModel()))
    await add_real_photos(figment)
    yield figment
    await figment.close()


async def everything_shown(app: Figment, who: PlayerRef) -> list[str]:
    """What a player can read about the game: their stats (with everyone's accuracy and the fool
    rate) and every board."""
    shown = [await app.boards.stats_text(CHAT, who)]
    for period in ("all", "week"):
        for scope in ("chat", "global"):
            shown.append(await app.boards.leaderboard_text(CHAT, period, scope))
    return shown


async def test_an_answer_shows_nowhere_until_the_reveal(long_rounds: Figment) -> None:
    app = long_rounds
    presenter = RecordingPresenter()
    app.quiz.register("test", presenter)
    app.quiz.choose_real = lambda: False  # a fake round: the fool rate counts it
    await app.quiz.start(CHAT, player(0), 1)
    post = await presenter.next_post(1)
    before = await everything_shown(app, player(1))

    reply = await app.quiz.answer(post.round_id, player(1), guess_real=True)  # fooled
    assert reply.status is AnswerStatus.RECORDED and reply.text == texts.ANSWER_RECORDED
    assert await everything_shown(app, player(1)) == before  # the round is still open: nothing moved

    await app.quiz.stop(CHAT)  # reveals the round
    [(_, _, reveal)] = presenter.reveals
    assert reveal.answers == 1 and reveal.correct == 0
    stats, *boards = await everything_shown(app, player(1))
    assert "In this chat: 0/1 right" in stats and "Everyone: 0% right over 1 answer " in stats
    assert "100% [" in stats and "of 1" in stats  # fooled once out of one answer on a fake
    assert all("Player 1: 0% of 1 answer," in board for board in boards)


async def test_a_reveal_is_scored_once_across_a_restart(tmp_path: Path) -> None:
    """The reveal's scoring and its mark are one transaction: a reveal shown again after a crash,
    or a recovery run twice, never counts an answer twice."""
    settings = make_settings(tmp_path, round_seconds=30)

    chat = ChatRef("test", "crashy", expected_players=1)
    first = await Figment.open(settings, DirectSource(DrawnFaceModel()))
    await add_real_photos(first)
    failing = PlatformAway()
    first.quiz.register("test", failing)
    await first.quiz.start(chat, player(0), 2)
    post = await failing.next_post(1)
    await asyncio.sleep(0.3)  # the message reference is stored
    await first.quiz.answer(post.round_id, player(1), True)  # closes the round; its reveal fails
    await asyncio.sleep(0.5)
    assert "No answers yet" in await first.boards.stats_text(chat, player(1))  # not revealed: not counted
    await first.close()

    second = await Figment.open(settings, DirectSource(DrawnFaceModel()))
    try:
        second.quiz.register("test", RecordingPresenter())
        await second.quiz.recover("test")
        await second.quiz.stop(chat)
        await second.quiz.recover("test")
        assert "/1 right" in await second.boards.stats_text(chat, player(1))
    finally:
        await second.close()


async def test_a_raced_score_row_loses_no_answer(long_rounds: Figment) -> None:
    """Another process creates the same new score row first, twice in a row: the write is retried,
    never reported as "already answered", and the answer counts once."""
    app = long_rounds
    presenter = RecordingPresenter()
    app.quiz.register("test", presenter)
    await app.quiz.start(CHAT, player(0), 1)
    post = await presenter.next_post(1)
    races = await race_on_insert(app.db, "scores", times=2)

    reply = await app.quiz.answer(post.round_id, player(1), guess_real=True)
    assert reply.status is AnswerStatus.RECORDED
    await app.quiz.stop(CHAT)
    assert races.left < 0  # both races were met, then the write went through
    async with app.db.transaction() as session:
        assert (await session.execute(select(func.count()).select_from(Answer))).scalar_one() == 1
    assert "In this chat: " in (stats := await app.boards.stats_text(CHAT, player(1))) and "/1 right" in stats


async def test_stats_and_boards_are_rate_limited_per_user_and_read_no_answers(tmp_path: Path) -> None:
    app = await Figment.open(make_settings(tmp_path, reads_per_minute=2), DirectSource(DrawnFaceModel()))
    statements: list[str] = []
    event.listen(app.db.engine.sync_engine, "before_cursor_execute",
                 lambda conn, cursor, sql, *rest: statements.append(sql.lower()))
    try:
        alice, bob = player(1), player(2)
        await app.boards.stats_text(CHAT, alice, by=alice)
        await app.boards.leaderboard_text(CHAT, "week", "global", by=alice)
        with pytest.raises(UserError) as limited:
            await app.boards.stats_text(CHAT, bob, by=alice)  # a third read within the minute
        assert limited.value.message.startswith("Easy there!")
        await app.boards.leaderboard_text(CHAT, by=bob)  # another user is not limited
        await app.boards.chat_board_text(1)  # the bot's own reads (a game's summary) never are
        assert statements and not [sql for sql in statements if "from answers" in sql]
    finally:
        await app.close()


class TimedPresenter(RecordingPresenter):
    """Records when each round was posted and revealed."""

    def __init__(self) -> None:
        super().__init__()
        self.post_times: list[float] = []
        self.reveal_times: list[float] = []

    async def post_round(self, chat: ChatRef, post: RoundPost) -> str:
        self.post_times.append(time.monotonic())
        return await super().post_round(chat, post)

    async def reveal_round(self, chat: ChatRef, message_ref: str, reveal: Reveal) -> None:
        self.reveal_times.append(time.monotonic())
        await super().reveal_round(chat, message_ref, reveal)


class SlowSource(DirectSource):
    """A generator much slower than the gap between rounds (a busy CPU, an empty pool)."""

    async def face(self, seed=None, psi=0.7):  # type: ignore[no-untyped-def]
        await asyncio.sleep(0.8)
        return await super().face(seed, psi)


async def test_post_times_say_nothing_about_the_truth(tmp_path: Path) -> None:
    app = await Figment.open(make_settings(tmp_path, round_gap_seconds=0.2, round_seconds=30),
                             SlowSource(DrawnFaceModel()))
    try:
        await add_real_photos(app)
        presenter = TimedPresenter()
        app.quiz.register("test", presenter)
        # Each truth follows each truth once (real after real, fake after real, ...).
        truths = iter([True, True, False, False, True])
        app.quiz.choose_real = lambda: next(truths)
        chat = ChatRef("test", "timing", expected_players=1)  # an answer closes the round at once
        await app.quiz.start(chat, player(0), 5)
        for number in range(1, 6):
            post = await presenter.next_post(number, timeout=20)
            await app.quiz.answer(post.round_id, player(1), True)
        await asyncio.wait_for(app.quiz.wait_idle(), 20)
        real = [r.is_real for _, _, r in presenter.reveals]
        assert real == [True, True, False, False, True]
        waits = {n: presenter.post_times[n] - presenter.reveal_times[n - 1] for n in range(1, 5)}
        real_waits = [w for n, w in waits.items() if real[n]]
        fake_waits = [w for n, w in waits.items() if not real[n]]
        assert abs(statistics.mean(real_waits) - statistics.mean(fake_waits)) < 0.25, waits
        for before in (True, False):  # with the same round before, a real and a fake round wait alike
            same = [w for n, w in waits.items() if real[n - 1] is before]
            assert abs(same[0] - same[1]) < 0.25, waits
        assert min(waits.values()) >= 0.2 - 0.05  # never sooner than the gap
    finally:
        await app.close()
