"""Pair rounds in the core: which of two faces is real. A whole game, bad input, separate
scores per mode, and the pair image: the real side uniform, nothing in the file tells it."""
from __future__ import annotations

import asyncio
import io
import math
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from bot import texts
from bot.app import Figment
from bot.errors import UserError
from bot.quiz.modes import parse_quiz_args
from bot.imaging import PostedImage
from bot.quiz.pair_image import pair_image, pair_length, pair_pixels
from bot.refs import ChatRef, PlayerRef
from db.answers import AnswerStatus
from db.models import Game, Round
from db.modes import PAIRS, SINGLE
from generator.serving.direct import DirectSource
from tests.conftest import RecordingPresenter, add_real_photos, make_settings
from tests.fakes import DrawnFaceModel
from tests.photo_samples import needs_faces
from tests.test_imaging import fake_faces, header, real_faces, segments, stump_accuracy


def player(n: int) -> PlayerRef:
    return PlayerRef("test", f"user-{n}", f"Player {n}")


def assert_clean_pair(posted: PostedImage, size: int) -> None:
    """A posted pair: JPEG of 2*size x size, the fixed length, no metadata, a random name."""
    assert len(posted.data) == pair_length(size)
    with Image.open(io.BytesIO(posted.data)) as image:
        assert (image.format, image.size, image.mode) == ("JPEG", (2 * size, size), "RGB")
        assert set(image.info) <= {"jfif", "jfif_version", "jfif_unit", "jfif_density"}
        assert not image.getexif()
    markers = [marker for marker, _ in segments(posted.data)]
    assert 0xFE not in markers and not [m for m in markers if 0xE1 <= m <= 0xEF]  # no comment, no APPn
    assert posted.mime == "image/jpeg" and len(posted.filename) == len("0123456789abcdef.jpg")


async def test_a_pair_game_end_to_end(app: Figment) -> None:
    await add_real_photos(app)
    presenter = RecordingPresenter()
    app.quiz.register("test", presenter)
    sides = [True, False, True]  # A, B, A is the real one
    app.quiz.choose_real = iter(sides).__next__
    chat = ChatRef("test", "pairs", "Pairs", expected_players=2)
    mode, rounds, _ = parse_quiz_args(["pairs", "3"])
    await app.quiz.start(chat, player(0), rounds, mode)
    for number in range(1, 4):
        post = await presenter.next_post(number)
        assert post.pair and post.caption == texts.pair_caption(number, 3, app.settings.round_seconds)
        assert_clean_pair(post.image, app.settings.posted_size)
        # a single round's button on a pair round is refused, and changes nothing
        wrong = await app.quiz.answer(post.round_id, player(1), guess_real=True)
        assert wrong.status is AnswerStatus.WRONG_KIND and wrong.text == texts.ANSWER_WRONG_KIND
        assert (await app.quiz.answer(post.round_id, player(1), True, pair=True)).status is AnswerStatus.RECORDED
        assert (await app.quiz.answer(post.round_id, player(1), False, pair=True)).status is AnswerStatus.ALREADY
        assert (await app.quiz.answer(post.round_id, player(2), False, pair=True)).status is AnswerStatus.RECORDED
    await app.quiz.wait_idle()
    reveals = [reveal for _, _, reveal in presenter.reveals]
    assert [r.is_real for r in reveals] == sides and all(r.pair for r in reveals)
    for reveal in reveals:
        text = reveal.text(1024)
        assert texts.pair_truth(reveal.is_real) in text and "Tip: " in text
        assert "'test-pack' pack" in text and "model test-drawn-1" in text  # both faces are credited
        assert reveal.correct == 1 and reveal.answers == 2
    [(_, summary)] = presenter.summaries
    assert summary.mode == PAIRS and summary.board_text.startswith("This chat's pairs board")
    async with app.db.transaction() as session:
        game = (await session.execute(select(Game))).scalar_one()
        assert game.mode == PAIRS
        assert all(r.pair for r in (await session.execute(select(Round))).scalars())

    # Pair accuracy is kept apart from the single-image game's.
    stats = await app.boards.stats_text(chat, player(1))
    assert "Pairs in this chat: 2/3 right" in stats and "\nIn this chat:" not in stats
    assert "nobody is ranked" in await app.boards.leaderboard_text(chat)
    assert "Player 1: 67% of 3 answers" in await app.boards.leaderboard_text(chat, mode=PAIRS)
    assert "Player 2: 33% of 3 answers" in await app.boards.leaderboard_text(chat, "week", "global", mode=PAIRS)

    # A single game after it: a pair button on its round is refused; its scores go to the single board.
    app.quiz.choose_real = lambda: True
    await app.quiz.start(chat, player(0), 1)
    post = await presenter.next_post(4)
    assert not post.pair
    wrong = await app.quiz.answer(post.round_id, player(1), True, pair=True)
    assert wrong.status is AnswerStatus.WRONG_KIND
    await app.quiz.answer(post.round_id, player(1), True)
    await app.quiz.answer(post.round_id, player(2), True)
    await app.quiz.wait_idle()
    assert "Player 1: 100% of 1 answer," in await app.boards.leaderboard_text(chat)
    stats = await app.boards.stats_text(chat, player(1))
    assert "In this chat: 1/1 right" in stats and "Pairs in this chat: 2/3 right" in stats


@pytest.mark.parametrize("words, message", [
    (["pairs", "0"], texts.bad_rounds(20)), (["pairs", "999"], texts.bad_rounds(20)),
    (["pairs", "2.5"], texts.bad_rounds(20)), (["pairs", "3", "4"], texts.QUIZ_USAGE),
    (["3", "4"], texts.QUIZ_USAGE), (["pairs", "hard"], texts.QUIZ_USAGE),
])
async def test_bad_pair_requests_get_clear_replies_and_start_nothing(app: Figment, words: list[str],
                                                                    message: str) -> None:
    await add_real_photos(app)
    presenter = RecordingPresenter()
    app.quiz.register("test", presenter)
    chat = ChatRef("test", "bad", "Bad")
    with pytest.raises(UserError) as refused:
        mode, rounds, hard = parse_quiz_args(words)
        await app.quiz.start(chat, player(0), rounds, mode, hard=hard)
    assert refused.value.message == message
    with pytest.raises(UserError, match="No game"):
        await app.quiz.stop(chat)  # nothing started, nothing half made
    with pytest.raises(UserError):
        await app.quiz.start(chat, player(0), 1, "banana")  # a front-end that passes any mode


async def test_pairs_without_photos_explain_how_to_import(app: Figment) -> None:
    app.quiz.register("test", RecordingPresenter())
    with pytest.raises(UserError, match="figment photos import"):
        await app.quiz.start(ChatRef("test", "empty"), player(0), 2, PAIRS)


async def test_the_real_side_is_uniform_over_1000_games(tmp_path: Path) -> None:
    """1,000 one-round pair games with the service's own coin: chi-square on the real side."""
    app = await Figment.open(make_settings(tmp_path, posted_size=64), DirectSource(DrawnFaceModel(resolution=64)))
    try:
        await add_real_photos(app)
        presenter = RecordingPresenter()
        app.quiz.register("test", presenter)
        chat = ChatRef("test", "coin", expected_players=1)
        games = 1000
        for number in range(1, games + 1):
            await app.quiz.start(chat, player(0), 1, PAIRS)
            post = await presenter.next_post(number)
            await app.quiz.answer(post.round_id, player(1), True, pair=True)
            await asyncio.wait_for(app.quiz.wait_idle(), 10)
        async with app.db.transaction() as session:
            sides = [bool(r) for r in (await session.execute(select(Round.is_real).where(Round.pair))).scalars()]
    finally:
        await app.close()
    assert len(sides) == games
    on_a = sum(sides)
    chi2 = (on_a - games / 2) ** 2 / (games / 2) + (games - on_a - games / 2) ** 2 / (games / 2)
    p_value = math.erfc(math.sqrt(chi2 / 2))  # chi-square with one degree of freedom
    assert p_value > 0.001, (on_a, chi2)  # a fair coin fails this one time in a thousand


@needs_faces
def test_nothing_in_the_pair_file_tells_the_real_side() -> None:
    """Real photos (read from ../shared/faces, never stored) and generated faces, the real one on
    A or B: the same length, the same header bytes, no metadata; a classifier on size and
    header bytes scores 0.5."""
    size = 256
    real, fake = real_faces(4), fake_faces(12)
    posted, labels = [], []
    for index, (photo, face) in enumerate(zip(real, fake)):
        a_is_real = index % 2 == 0
        posted.append(pair_image(photo, face, size) if a_is_real else pair_image(face, photo, size))
        labels.append(int(a_is_real))
    for p in posted:
        assert_clean_pair(p, size)
    assert len({header(p.data) for p in posted}) == 1  # byte for byte
    features = [(len(p.data), *Image.open(io.BytesIO(p.data)).size, header(p.data), p.data[-64:]) for p in posted]
    assert stump_accuracy(features, labels) == pytest.approx(0.5)
    assert len({p.filename for p in posted}) == len(posted)


def test_both_sides_reach_the_same_detail() -> None:
    """A 256 px photo and the same face at 128 px (the generator's size) come out alike on
    either side: each side is brought to quiz detail first."""
    big = fake_faces(1)[0].resize((256, 256), Image.Resampling.BICUBIC)
    small = big.resize((128, 128), Image.Resampling.LANCZOS)
    first, second = pair_pixels(big, small, 128), pair_pixels(small, big, 128)
    for left in (0, 128):
        box = (left, 40, left + 128, 128)  # below the A / B badge
        assert first.crop(box).tobytes() == second.crop(box).tobytes()
