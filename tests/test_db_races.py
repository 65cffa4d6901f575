"""Writers that meet each other: reveals in several processes share score rows, so they lock and
insert them in one (sorted) order; a deadlock or serialization failure PostgreSQL reports anyway,
or a lock SQLite gave up on, is retried like a row another process wrote first.

The PostgreSQL faults are raised by the server itself (a trigger raising SQLSTATE 40P01 or
40001), so the bot meets asyncpg's real DeadlockDetectedError and SerializationError.
"""
from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.exc import DBAPIError

from bot.app import Figment
from db.database import Database
from bot.quiz.posts import AnswerStatus
from bot.refs import ChatRef, PlayerRef
from db.models import Score
from generator.serving.direct import DirectSource
from tests.conftest import RecordingPresenter, add_real_photos, make_settings
from tests.db_faults import pg_fail_statements, pg_statements_seen
from tests.fakes import DrawnFaceModel
from tests.pg_fresh import fresh_database, reachable

CHAT = ChatRef("test", "crowd")


@pytest.fixture
async def pg_app(tmp_path: Path) -> AsyncIterator[Figment]:
    if not await reachable():
        pytest.skip("no PostgreSQL server")
    async with fresh_database("races") as url:
        app = await Figment.open(make_settings(tmp_path, database_url=url, round_seconds=30),
                                 DirectSource(DrawnFaceModel()))
        try:
            await add_real_photos(app)
            yield app
        finally:
            await app.close()


async def test_new_score_rows_are_inserted_in_key_order(tmp_path: Path) -> None:
    """Twelve new players in one round: their 48 new score rows go in sorted by (player, scope,
    period), the order every other reveal uses too."""
    app = await Figment.open(make_settings(tmp_path, round_seconds=30), DirectSource(DrawnFaceModel()))
    inserted: list[list[tuple[Any, ...]]] = []

    @event.listens_for(app.db.engine.sync_engine, "before_cursor_execute")
    def _seen(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("INSERT INTO SCORES"):
            inserted.append([(p["player_id"], p["scope"], p["period"]) for p in context.compiled_parameters])

    try:
        await add_real_photos(app)
        presenter = RecordingPresenter()
        app.quiz.register("test", presenter)
        await app.quiz.start(CHAT, PlayerRef("test", "host", "Host"), rounds=1)
        post = await presenter.next_post(1)
        for n in range(12):
            reply = await app.quiz.answer(post.round_id, PlayerRef("test", f"p{n}", f"P{n}"), n % 3 == 0, CHAT)
            assert reply.status is AnswerStatus.RECORDED
        await app.quiz.stop(CHAT)
        keys = [key for statement in inserted for key in statement]
        assert len(keys) == 12 * 4
        assert keys == sorted(keys)
    finally:
        await app.close()


@pytest.mark.parametrize(("sqlstate", "error_name"), [("40P01", "DeadlockDetectedError"),
                                                      ("40001", "SerializationError")])
async def test_a_deadlock_in_a_reveal_or_an_answer_is_retried(pg_app: Figment, sqlstate: str,
                                                               error_name: str) -> None:
    """PostgreSQL ends an answer's insert and then a reveal's score insert twice with a deadlock
    (or a serialization failure): each is run again, and the game ends normally with every
    answer counted."""
    import asyncpg

    app = pg_app
    answers_seen = await pg_fail_statements(app.db, "answers", sqlstate, times=1)
    scores_seen = await pg_fail_statements(app.db, "scores", sqlstate, times=3)
    with pytest.raises(DBAPIError) as raised:  # what the bot meets: asyncpg's own exception
        async with app.db.transaction() as session:
            await session.execute(text("INSERT INTO scores SELECT * FROM scores WHERE false"))
    assert type(raised.value.orig.__cause__) is getattr(asyncpg.exceptions, error_name)  # type: ignore[union-attr]

    presenter = RecordingPresenter()
    app.quiz.register("test", presenter)
    chat = ChatRef("test", "solo", expected_players=1)
    await app.quiz.start(chat, PlayerRef("test", "host", "Host"), rounds=2)
    for number in (1, 2):
        post = await presenter.next_post(number)
        reply = await app.quiz.answer(post.round_id, PlayerRef("test", "ann", "Ann"), True, chat)
        assert reply.status is AnswerStatus.RECORDED  # the first one after a retry
    await asyncio.wait_for(app.quiz.wait_idle(), 30)

    assert await pg_statements_seen(app.db, answers_seen) >= 2  # the failure happened, then the retry
    assert await pg_statements_seen(app.db, scores_seen) >= 4  # the probe, two failed reveals, the retry
    [(_, summary)] = presenter.summaries
    assert not summary.stopped and summary.reason is None and summary.rounds_played == 2
    assert [r.answers for _, _, r in presenter.reveals] == [1, 1]
    async with app.db.transaction() as session:
        totals = (await session.execute(select(func.max(Score.answers)))).scalar_one()
    assert totals == 2  # both rounds in the totals, each once


async def test_a_lock_sqlite_gave_up_on_is_retried(tmp_path: Path) -> None:
    """Another process holds SQLite's write lock and this one's busy timeout ran out ("database
    is locked"): the work runs again once the other writer is done."""
    path = tmp_path / "locked.db"
    sqlite3.connect(path).execute("CREATE TABLE t (x INTEGER)").connection.commit()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # the other process's transaction
    impatient = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})
    tries = 0

    async def work() -> int:
        nonlocal tries
        tries += 1
        try:
            with impatient.begin() as connection:
                connection.execute(text("INSERT INTO t VALUES (1)"))
            return tries
        finally:
            if holder.in_transaction:
                holder.execute("COMMIT")  # the other writer finishes meanwhile

    try:
        assert await Database.retrying(work, "a write") == 2
    finally:
        impatient.dispose()
        holder.close()
