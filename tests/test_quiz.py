"""The platform-neutral game: a whole game, idempotent answers, stop, restart, bad input."""
from __future__ import annotations

import asyncio

import pytest
from PIL import Image
import io

from bot.app import Figment
from bot.errors import UserError
from bot.refs import ChatRef, PlayerRef
from db.answers import AnswerStatus
from generator.serving.direct import DirectSource
from tests.conftest import PlatformAway, RecordingPresenter, add_real_photos, make_settings
from tests.fakes import DrawnFaceModel

CHAT = ChatRef("test", "chat-1", "Test chat", expected_players=None)


def player(n: int) -> PlayerRef:
    return PlayerRef("test", f"user-{n}", f"Player {n}")


async def test_quiz_without_photos_explains_how_to_import(app: Figment) -> None:
    app.quiz.register("test", RecordingPresenter())
    with pytest.raises(UserError, match="figment photos import"):
        await app.quiz.start(CHAT, player(1), 3)


@pytest.mark.parametrize("rounds", ["0", "-3", "10000", "banana", "2.5"])
async def test_bad_round_counts_are_refused(app: Figment, rounds: str) -> None:
    await add_real_photos(app)
    app.quiz.register("test", RecordingPresenter())
    with pytest.raises(UserError, match="number of rounds"):
        await app.quiz.start(CHAT, player(1), rounds)


async def test_full_game(app: Figment) -> None:
    await add_real_photos(app)
    presenter = RecordingPresenter()
    app.quiz.register("test", presenter)
    chat = ChatRef("test", "chat-2", "Small chat", expected_players=5)
    await app.quiz.start(chat, player(0), 3)
    with pytest.raises(UserError, match="already running"):
        await app.quiz.start(chat, player(1), 3)

    for number in range(1, 4):
        post = await presenter.next_post(number)
        assert post.number == number and post.total == 3
        image = Image.open(io.BytesIO(post.image.data))
        assert image.size == (app.settings.posted_size, app.settings.posted_size)
        replies = [await app.quiz.answer(post.round_id, player(p), guess_real=p % 2 == 0) for p in range(4)]
        assert {r.status for r in replies} == {AnswerStatus.RECORDED}
        twice = await app.quiz.answer(post.round_id, player(0), guess_real=False)
        assert twice.status is AnswerStatus.ALREADY
        # the fifth expected player answers: the round closes early
        await app.quiz.answer(post.round_id, player(4), guess_real=True)
    await app.quiz.wait_idle()
    late = await app.quiz.answer(presenter.posts[0][1].round_id, player(9), guess_real=True)
    assert late.status is AnswerStatus.CLOSED

    assert len(presenter.reveals) == 3
    for _, ref, reveal in presenter.reveals:
        assert ref == f"msg-{reveal.round_id}" and reveal.answers == 5
        assert ("REAL" in reveal.text()) == reveal.is_real
        assert ("pack" in reveal.attribution) == reveal.is_real
    [(_, summary)] = presenter.summaries
    assert summary.rounds_played == 3 and len(summary.players) == 5
    assert sum(p.answers for p in summary.players) == 15
    text = await app.boards.leaderboard_text(chat)
    assert "Player 0" in text and "1." in text
    # the game ended: a new one may start
    await app.quiz.start(chat, player(1), 1)
    await app.quiz.stop(chat)
    assert len(presenter.summaries) == 2 and presenter.summaries[1][1].stopped


async def test_round_closes_on_time_and_reveals_with_nobody(app: Figment) -> None:
    await add_real_photos(app)
    presenter = RecordingPresenter()
    app.quiz.register("test", presenter)
    await app.quiz.start(CHAT, player(0), 1)
    await asyncio.wait_for(app.quiz.wait_idle(), 10)
    [(_, _, reveal)] = presenter.reveals
    assert reveal.answers == 0 and "Nobody answered" in reveal.text()


async def test_stop_without_game(app: Figment) -> None:
    with pytest.raises(UserError, match="No game"):
        await app.quiz.stop(CHAT)


async def first_life(settings, chat: ChatRef, rounds: int,  # type: ignore[no-untyped-def]
                     presenter: RecordingPresenter | None = None):
    """A bot that starts a game and posts its first round (its process will 'die' in the test)."""
    figment = await Figment.open(settings, DirectSource(DrawnFaceModel()))
    await add_real_photos(figment)
    presenter = presenter or RecordingPresenter()
    figment.quiz.register("test", presenter)
    await figment.quiz.start(chat, player(0), rounds)
    post = await presenter.next_post(1)
    await asyncio.sleep(0.3)  # let the core store the message reference
    return figment, presenter, post


async def second_life(settings) -> tuple[Figment, RecordingPresenter]:  # type: ignore[no-untyped-def]
    """The restarted bot on the same database, its presenter registered, before recover()."""
    figment = await Figment.open(settings, DirectSource(DrawnFaceModel()))
    presenter = RecordingPresenter()
    figment.quiz.register("test", presenter)
    return figment, presenter


async def test_restart_mid_round_resumes_and_counts(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path, round_seconds=3)
    first, _, post = await first_life(settings, CHAT, 2)
    await first.quiz.answer(post.round_id, player(1), True)
    await first.close()  # the process dies mid-round

    second, presenter2 = await second_life(settings)
    try:
        assert await second.quiz.recover("test") == 1
        reply = await second.quiz.answer(post.round_id, player(2), False)  # an old button still works
        assert reply.status is AnswerStatus.RECORDED
        await asyncio.wait_for(second.quiz.wait_idle(), 20)
        assert presenter2.reveals[0][2].round_id == post.round_id and presenter2.reveals[0][2].answers == 2
        assert len(presenter2.posts) == 1  # round 2 was posted after the restart
        assert presenter2.summaries[0][1].rounds_played == 2
    finally:
        await second.close()


async def test_overdue_round_is_revealed_after_restart(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path, round_seconds=1)
    first, _, post = await first_life(settings, CHAT, 1)
    await first.close()
    await asyncio.sleep(1.2)
    second, presenter2 = await second_life(settings)
    try:
        await second.quiz.recover("test")
        assert (await second.quiz.answer(post.round_id, player(3), True)).status is AnswerStatus.CLOSED
        await asyncio.wait_for(second.quiz.wait_idle(), 10)
        assert [r[2].round_id for r in presenter2.reveals] == [post.round_id]
        assert presenter2.summaries
    finally:
        await second.close()


async def test_forget_me_deletes_answers(app: Figment) -> None:
    await add_real_photos(app)
    presenter = RecordingPresenter()
    app.quiz.register("test", presenter)
    await app.quiz.start(CHAT, player(0), 1)
    post = await presenter.next_post(1)
    await app.quiz.answer(post.round_id, player(1), True)
    assert "and 1 answer are deleted" in await app.boards.forget(player(1))
    assert "nothing stored" in await app.boards.forget(player(1))
    await app.quiz.stop(CHAT)


async def test_settings_need_admin_and_valid_numbers(app: Figment) -> None:
    with pytest.raises(UserError, match="admins"):
        await app.chats.update(CHAT, is_admin=False, key="seconds", value="30")
    with pytest.raises(UserError, match="from 5 to 600"):
        await app.chats.update(CHAT, is_admin=True, key="seconds", value="1")
    assert "30 s" in await app.chats.update(CHAT, is_admin=True, key="seconds", value="30")
    assert await app.chats.current(CHAT) == (30, app.settings.rounds_per_game)


async def test_a_real_round_without_a_readable_photo_is_a_fake_round(app: Figment) -> None:
    # The coin says real, but every stored photo file is gone: the round shows a generated face,
    # so its truth, reveal and scoring must say fake.
    await add_real_photos(app)
    for path in (app.settings.data_dir / "photos" / "test-pack").iterdir():
        path.unlink()
    app.quiz.choose_real = lambda: True
    presenter = RecordingPresenter()
    app.quiz.register("test", presenter)
    await app.quiz.start(CHAT, player(0), 1)
    post = await presenter.next_post(1)
    reply = await app.quiz.answer(post.round_id, player(1), guess_real=False)
    assert reply.status is AnswerStatus.RECORDED
    await asyncio.wait_for(app.quiz.wait_idle(), 10)
    [(_, _, reveal)] = presenter.reveals
    assert not reveal.is_real and reveal.correct == 1 and "Generated by model" in reveal.attribution


async def test_stop_while_the_image_is_made_posts_no_round(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # /stop lands while the next round's face is being generated: no round may be posted (and
    # at once revealed) after the players asked the game to stop, and the stop does not wait for
    # the face (best-of-K picking takes seconds on a CPU).
    class HeldSource(DirectSource):
        def __init__(self) -> None:
            super().__init__(DrawnFaceModel())
            self.started, self.release = asyncio.Event(), asyncio.Event()

        async def face(self, seed=None, psi=0.7):  # type: ignore[no-untyped-def]
            self.started.set()
            await self.release.wait()
            return await super().face(seed, psi)

    source = HeldSource()
    app = await Figment.open(make_settings(tmp_path), source)
    try:
        await add_real_photos(app)
        app.quiz.choose_real = lambda: False
        presenter = RecordingPresenter()
        app.quiz.register("test", presenter)
        await app.quiz.start(CHAT, player(0), 3)
        await asyncio.wait_for(source.started.wait(), 5)
        # the stop does not wait for the image: the face is still held while the game ends
        await asyncio.wait_for(app.quiz.stop(CHAT), 10)
        assert not source.release.is_set()
        assert presenter.posts == [] and presenter.reveals == []
        [(_, summary)] = presenter.summaries
        assert summary.stopped and summary.rounds_played == 0
    finally:
        source.release.set()
        await app.close()


async def test_a_reveal_lost_in_a_crash_is_shown_after_restart(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path, round_seconds=30)

    chat = ChatRef("test", "crashy", expected_players=1)
    first, _, post = await first_life(settings, chat, 2, PlatformAway())
    await first.quiz.answer(post.round_id, player(1), True)  # closes the round early; its reveal fails
    await asyncio.sleep(0.5)
    await first.close()

    second, presenter = await second_life(settings)
    try:
        await second.quiz.recover("test")
        assert [r.round_id for _, _, r in presenter.reveals][:1] == [post.round_id]
        assert presenter.reveals[0][1] == f"msg-{post.round_id}" and presenter.reveals[0][2].answers == 1
        await second.quiz.stop(chat)
        third_reveals = len(presenter.reveals)
        await second.quiz.recover("test")  # nothing is left to reveal twice
        assert len(presenter.reveals) == third_reveals
    finally:
        await second.close()


async def test_next_image_is_made_during_the_pause(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The post must come a fixed gap after the reveal, however long the image took to make."""
    import time

    class SlowSource(DirectSource):
        calls: list[float] = []

        async def face(self, seed=None, psi=0.7):  # type: ignore[no-untyped-def]
            SlowSource.calls.append(time.monotonic())
            await asyncio.sleep(0.5)
            return await super().face(seed, psi)

    settings = make_settings(tmp_path, round_gap_seconds=1.5)
    figment = await Figment.open(settings, SlowSource(DrawnFaceModel()))
    try:
        await add_real_photos(figment)
        presenter = RecordingPresenter()
        figment.quiz.register("test", presenter)
        figment.quiz.choose_real = lambda: False  # every round generated: every image takes 0.5 s
        chat = ChatRef("test", "timing", expected_players=1)
        await figment.quiz.start(chat, player(0), 2)
        post = await presenter.next_post(1)
        await figment.quiz.answer(post.round_id, player(1), True)
        revealed = time.monotonic()
        await presenter.next_post(2)
        # the second image was asked for at the reveal, not after the pause
        assert SlowSource.calls[1] - revealed < 1.0
        await figment.quiz.stop(chat)
    finally:
        await figment.close()


async def test_a_resumed_round_with_every_answer_in_closes_at_once(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path, round_seconds=60)
    chat = ChatRef("test", "duo", expected_players=2)
    first, _, post = await first_life(settings, chat, 1)
    await first.close()  # down before anyone answered
    second, presenter = await second_life(settings)
    try:
        # both players' clicks reach the restarted bot before its recovery (queued updates)
        for n in (1, 2):
            assert (await second.quiz.answer(post.round_id, player(n), True)).status is AnswerStatus.RECORDED
        await second.quiz.recover("test", expected_players=lambda _: _two())
        await asyncio.wait_for(second.quiz.wait_idle(), 10)  # not the round's 60 s
        assert [r.answers for _, _, r in presenter.reveals] == [2]
    finally:
        await second.close()


async def _two() -> int:
    return 2


async def test_a_game_whose_generator_goes_down_says_why(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from generator.interface import GeneratedFace, GeneratorUnavailable

    class Down:
        model_version = "down"

        async def face(self, seed=None, psi=0.7) -> GeneratedFace:  # type: ignore[no-untyped-def]
            raise GeneratorUnavailable("connection refused")

    figment = await Figment.open(make_settings(tmp_path), Down())
    try:
        await add_real_photos(figment)
        presenter = RecordingPresenter()
        figment.quiz.register("test", presenter)
        figment.quiz.choose_real = lambda: False  # the first round needs the generator
        await figment.quiz.start(CHAT, player(0), 3)
        await asyncio.wait_for(figment.quiz.wait_idle(), 10)
        [(_, summary)] = presenter.summaries
        assert summary.stopped and summary.rounds_played == 0
        assert "generator is unavailable right now" in summary.text()
        assert not presenter.posts
    finally:
        await figment.close()
