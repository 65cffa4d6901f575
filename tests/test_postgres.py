"""The store on PostgreSQL: nothing outside db/engine.py is SQLite-specific.

Runs when a PostgreSQL server is reachable at FIGMENT_TEST_POSTGRES_URL (`make test` starts one
where it can); each test gets a fresh schema through the migrations.
"""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import AsyncIterator

import pytest

from bot.app import Figment
from bot.refs import ChatRef, PlayerRef
from db.answers import AnswerStatus
from db.games import add_generated_face, add_round, start_game
from db.models import utcnow
from db.people import get_or_create_chat
from db.quiz_photos import count_quiz_photos
from generator.serving.direct import DirectSource
from tests.conftest import RecordingPresenter, add_real_photos, make_settings
from tests.fakes import DrawnFaceModel
from tests.pg_fresh import BASE_URL, fresh_schema

@pytest.fixture
async def pg_app(tmp_path: Path) -> AsyncIterator[Figment]:
    url = await fresh_schema()  # Figment.open migrates the empty schema to head
    app = await Figment.open(make_settings(tmp_path, database_url=url), DirectSource(DrawnFaceModel()))
    yield app
    await app.close()


async def test_game_boards_and_forget_on_postgres(pg_app: Figment) -> None:
    await add_real_photos(pg_app)
    presenter = RecordingPresenter()
    pg_app.quiz.register("test", presenter)
    truths = iter([True, False])
    pg_app.quiz.choose_real = lambda: next(truths)
    chat = ChatRef("test", "pg-chat", expected_players=3)
    players = [PlayerRef("test", str(n), f"Player {n}") for n in range(3)]
    await pg_app.quiz.start(chat, players[0], 2)
    for number in (1, 2):
        post = await presenter.next_post(number)
        replies = await asyncio.gather(*(pg_app.quiz.answer(post.round_id, p, n == 0, chat)
                                         for n, p in enumerate(players)),
                                       pg_app.quiz.answer(post.round_id, players[0], False, chat))
        assert sorted(r.status.value for r in replies) == ["already", "recorded", "recorded", "recorded"]
    await asyncio.wait_for(pg_app.quiz.wait_idle(), 20)
    assert [r.correct for _, _, r in presenter.reveals] == [1, 2]  # round 1 real, round 2 fake
    board = await pg_app.boards.leaderboard_text(chat)
    assert "Player 1: 50% of 2 answers" in board
    stats = await pg_app.boards.stats_text(chat, players[0])
    assert "model test-drawn-1" in stats and "of 3" in stats
    assert "2 answers" in await pg_app.boards.forget(players[1])


async def test_the_daily_challenge_on_postgres(pg_app: Figment) -> None:
    """Two tries of the day, a double click that arrives at once, and /forgetme taking a try along."""
    await add_real_photos(pg_app, count=6)
    ann, bob = PlayerRef("test", "ann", "Ann"), PlayerRef("test", "bob", "Bob")
    first = await pg_app.daily.start(ann)
    outcomes = await asyncio.gather(*(pg_app.daily.answer(ann, first.day, 1, True) for _ in range(2)),
                                    return_exceptions=True)
    assert sorted(type(o).__name__ for o in outcomes) == ["DailyStep", "UserError"]
    round_ = await pg_app.daily.start(ann)
    while round_ is not None:
        step = await pg_app.daily.answer(ann, round_.day, round_.number, True)
        round_ = step.next_round
    assert step.finish is not None and "1. Ann: " in step.finish.text()
    bob_round = await pg_app.daily.start(bob)
    assert bob_round.image.data == first.image.data and bob_round.number == 1
    await pg_app.boards.forget(ann)
    board = await pg_app.daily.board_text(first.day)
    assert "Ann" not in board and "nobody has finished today's yet." in board


async def test_concurrent_answers_on_postgres(pg_app: Figment) -> None:
    async with pg_app.db.transaction() as session:
        chat = await get_or_create_chat(session, "test", "load")
        game = await start_game(session, chat.id, None, 1, 60)
        face = await add_generated_face(session, 1, 0.7, "v1")
        round_id = (await add_round(session, game, 1, is_real=False, closes_at=utcnow().replace(year=2100),
                                    generated_face_id=face.id)).id
    replies = await asyncio.gather(*(pg_app.quiz.answer(round_id, PlayerRef("test", str(n), "p"), True)
                                     for n in range(200)))
    assert [r.status for r in replies] == [AnswerStatus.RECORDED] * 200
    again = await pg_app.quiz.answer(round_id, PlayerRef("test", "7", "p"), False)
    assert again.status is AnswerStatus.ALREADY


async def test_concurrent_finishes_post_one_summary(pg_app: Figment) -> None:
    """Two ends of one game at once (a /stop as the loop ends): truly concurrent on PostgreSQL."""
    await add_real_photos(pg_app)
    presenter = RecordingPresenter()
    pg_app.quiz.register("test", presenter)
    chat = ChatRef("test", "pg-finish")
    game_id = await pg_app.quiz.start(chat, PlayerRef("test", "1", "A"), 3)
    await presenter.next_post(1)
    await pg_app.quiz.shutdown()  # no loop: the two finishes below race each other alone
    await asyncio.gather(*(pg_app.quiz._reveals.finish(game_id, chat, stopped=True) for _ in range(4)))
    assert len(presenter.summaries) == 1


async def test_long_photo_paths_fit_on_postgres(pg_app: Figment) -> None:
    from db.models import RealPhoto

    deep = "/photos/" + "/".join(["a-folder-with-a-long-name"] * 80) + "/face.jpg"  # over 2,000 characters
    async with pg_app.db.transaction() as session:
        session.add(RealPhoto(pack="deep", source_path=deep, content_hash="h", stored_path=deep,
                              identity="x" * 300, split="heldout"))
    async with pg_app.db.transaction() as session:
        assert await count_quiz_photos(session, ["deep"]) == 1


async def test_migrations_down_and_up_on_postgres(pg_app: Figment) -> None:
    from db import migrate

    await asyncio.to_thread(migrate.downgrade, BASE_URL, "base")
    await asyncio.to_thread(migrate.upgrade, BASE_URL)
    assert await migrate.current_revision(BASE_URL) == migrate.head_revision(BASE_URL)
