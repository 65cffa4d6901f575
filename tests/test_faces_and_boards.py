"""The /face use case, input checking, rate limits and boards."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from bot.app import Figment
from bot.boards import parse_board_args
from bot.errors import UserError
from bot.faces import FaceService
from bot.ratelimits import RateLimiter
from bot.refs import ChatRef, PlayerRef
from db.stats import wilson_interval, wilson_lower
from generator.serving.direct import DirectSource
from generator.interface import GeneratedFace, GeneratorBusy, GeneratorUnavailable
from tests.fakes import DrawnFaceModel

ALICE = PlayerRef("test", "1", "Alice")


async def test_face_with_and_without_seed(app: Figment) -> None:
    post = await app.faces.face(ALICE, "42", "0.5")
    again = await app.faces.face(ALICE, 42, 0.5)
    image = Image.open(io.BytesIO(post.image.data))
    assert image.format == "PNG" and image.size == (app.settings.posted_size,) * 2
    assert "does not exist" in image.text["Description"] and "seed 42" in post.caption
    assert post.seed == 42 and again.image.data == post.image.data
    random_post = await app.faces.face(ALICE)
    assert 0 <= random_post.seed < 2**32 and random_post.psi == 0.7


@pytest.mark.parametrize("seed, psi, message", [
    ("banana", None, "seed"), ("-1", None, "seed"), (str(2**32), None, "seed"), ("1.5", None, "seed"),
    ("1", "nan", "truncation"), ("1", "99", "truncation"), ("1", "-0.1", "truncation"), ("1", "x", "truncation"),
])
async def test_bad_face_input_gets_friendly_message(app: Figment, seed: str, psi: str | None, message: str) -> None:
    with pytest.raises(UserError, match=message):
        await app.faces.face(ALICE, seed, psi)


class _Failing:
    model_version = "x"

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def face(self, seed: int | None = None, psi: float = 0.7) -> GeneratedFace:
        raise self.error


@pytest.mark.parametrize("error, text", [(GeneratorBusy("full"), "busy"),
                                         (GeneratorUnavailable("down"), "unavailable right now")])
async def test_generator_trouble_becomes_a_message(error: Exception, text: str) -> None:
    service = FaceService(_Failing(error), size=64, per_minute=10)
    with pytest.raises(UserError, match=text):
        await service.face(ALICE, "1")


async def test_rate_limit_per_user() -> None:
    clock = [0.0]
    limiter = RateLimiter(2, clock=lambda: clock[0])
    limiter.check("a"), limiter.check("a"), limiter.check("b")
    with pytest.raises(UserError, match="again in 60 s"):
        limiter.check("a")
    clock[0] = 60.0
    limiter.check("a")
    service = FaceService(DirectSource(DrawnFaceModel()), size=64, per_minute=1)
    await service.face(ALICE, "1")
    with pytest.raises(UserError, match="Easy there"):
        await service.face(ALICE, "2")


def test_board_arguments() -> None:
    assert parse_board_args([]) == ("all", "chat")
    assert parse_board_args(["week", "global"]) == ("week", "global")
    assert parse_board_args(["GLOBAL"]) == ("all", "global")
    with pytest.raises(UserError, match="/leaderboard"):
        parse_board_args(["yesterday"])


def test_wilson_bound_prefers_evidence() -> None:
    assert wilson_lower(0, 0) == 0.0
    assert wilson_lower(9, 10) < wilson_lower(90, 100) < 0.9
    low, high = wilson_interval(50, 100)
    assert low < 0.5 < high and high - low == pytest.approx(0.19, abs=0.01)


async def test_stats_show_fool_rate(app: Figment) -> None:
    from tests.conftest import RecordingPresenter, add_real_photos

    await add_real_photos(app)
    presenter = RecordingPresenter()
    app.quiz.register("test", presenter)
    truths = iter([True, False])
    app.quiz.choose_real = lambda: next(truths)
    chat = ChatRef("test", "c", expected_players=2)
    bob = PlayerRef("test", "2", "<b>*_[x](y)")
    await app.quiz.start(chat, ALICE, 2)
    for number in (1, 2):
        post = await presenter.next_post(number)
        await app.quiz.answer(post.round_id, ALICE, True)
        await app.quiz.answer(post.round_id, bob, False)
    await app.quiz.wait_idle()
    text = await app.boards.stats_text(chat, ALICE)
    assert "Stats for Alice" in text and "2 answers" not in text and "/2 right" in text
    board = await app.boards.leaderboard_text(chat, escape=lambda s: s.upper())
    assert "<B>*_[X](Y)" in board  # the front-end's escaping is applied to names
    # round 2 was fake: Alice said real (fooled), Bob said fake
    assert "fools people" in text and "model test-drawn-1, psi" in text and ": 50% [" in text and "of 2" in text



def test_split_message_keeps_lines_whole_where_it_can() -> None:
    from bot.texts import split_message

    assert split_message("short", 10) == ["short"]
    assert split_message("", 10) == [""]
    assert split_message("aaaa\nbbbb\ncccc", 9) == ["aaaa\nbbbb", "cccc"]
    assert split_message("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]
    pieces = split_message("\n".join(f"line {n}" for n in range(100)), 50)
    assert all(len(p) <= 50 for p in pieces) and "\n".join(pieces).split("\n") == [f"line {n}" for n in range(100)]
