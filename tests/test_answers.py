"""Answers under load and under races, on a real SQLite file with several connections."""
from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from db.database import Database
from db import migrate
from db import standings
from db.answers import AnswerStatus, record_answer
from db.games import add_generated_face, add_round, close_round, start_game
from db.models import Answer, Round, utcnow
from db.people import get_or_create_chat, get_or_create_player
from db.scopes import ALL_TIME, GLOBAL_SCOPE
from db.scoring import reveal_and_score


async def _setup(tmp_path: Path, seconds: float = 60) -> tuple[Database, int]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'figment.db'}"
    await migrate.upgrade_async(url)
    db = Database(url)
    async with db.transaction() as session:
        chat = await get_or_create_chat(session, "test", "chat-1")
        game = await start_game(session, chat.id, None, 1, int(seconds))
        face = await add_generated_face(session, 1, 0.7, "v1")
        round_ = await add_round(session, game, 1, is_real=False, closes_at=utcnow() + timedelta(seconds=seconds),
                                 generated_face_id=face.id)
        round_id = round_.id
    return db, round_id


async def _answer(db: Database, round_id: int, user: int, guess_real: bool) -> AnswerStatus:
    async with db.transaction() as session:
        player = await get_or_create_player(session, "test", str(user), f"player {user}")
        return (await record_answer(session, round_id, player.id, guess_real)).status


async def test_200_concurrent_answers_make_200_rows(tmp_path: Path) -> None:
    """Four independent engines (as four bot processes would have) share one SQLite file."""
    db, round_id = await _setup(tmp_path)
    others = [Database(db.url) for _ in range(3)]
    handles = [db, *others]
    try:
        results = await asyncio.gather(
            *(_answer(handles[user % 4], round_id, user, user % 2 == 0) for user in range(200)))
        assert results.count(AnswerStatus.RECORDED) == 200
        again = await asyncio.gather(*(_answer(handles[user % 3], round_id, user, True) for user in range(200)))
        assert set(again) == {AnswerStatus.ALREADY}
        async with db.transaction() as session:
            rows = (await session.execute(select(func.count()).select_from(Answer))).scalar_one()
            unscored = await standings.leaderboard(session, scope=GLOBAL_SCOPE, period=ALL_TIME, min_answers=1)
            assert await close_round(session, round_id) and await reveal_and_score(session, round_id)
            assert not await reveal_and_score(session, round_id)  # a round is scored once
            scores = await standings.leaderboard(session, scope=GLOBAL_SCOPE, period=ALL_TIME, min_answers=1,
                                                 limit=500)
        assert rows == 200 and unscored == []  # scores move at the reveal, not before
        assert len(scores) == 200 and sum(r.correct for r in scores) == 100
    finally:
        for handle in handles:
            await handle.close()


async def test_close_and_last_moment_answer_never_both(tmp_path: Path) -> None:
    """Race a close against answers many times: each answer is counted before the close or refused."""
    for attempt in range(20):
        db, round_id = await _setup(tmp_path / str(attempt))
        try:
            async def close() -> bool:
                async with db.transaction() as session:
                    return await close_round(session, round_id)

            outcomes = await asyncio.gather(*(_answer(db, round_id, u, True) for u in range(3)), close(),
                                            *(_answer(db, round_id, u, True) for u in range(3, 6)))
            statuses, closed = outcomes[:3] + outcomes[4:], outcomes[3]
            assert closed is True
            async with db.transaction() as session:
                stored = (await session.execute(select(func.count()).select_from(Answer))).scalar_one()
                closed_at = (await session.get(Round, round_id)).closed_at  # type: ignore[union-attr]
                late = (await session.execute(
                    select(func.count()).select_from(Answer).where(Answer.answered_at > closed_at))).scalar_one()
            assert statuses.count(AnswerStatus.RECORDED) == stored
            assert statuses.count(AnswerStatus.RECORDED) + statuses.count(AnswerStatus.CLOSED) == 6
            assert late == 0
        finally:
            await db.close()


async def test_answer_after_deadline_is_refused(tmp_path: Path) -> None:
    db, round_id = await _setup(tmp_path, seconds=0)
    try:
        assert await _answer(db, round_id, 1, True) is AnswerStatus.CLOSED
        assert await _answer(db, 10**6, 1, True) is not AnswerStatus.RECORDED
    finally:
        await db.close()


async def test_group_commit_records_each_answer_once(tmp_path: Path) -> None:
    """The bot's path: two recorders (two processes' worth) batching 200 players plus doubles."""
    from bot.quiz.recorder import AnswerRecorder
    from bot.refs import PlayerRef

    db, round_id = await _setup(tmp_path)
    other = Database(db.url)
    recorders = [AnswerRecorder(db), AnswerRecorder(other)]
    try:
        players = [PlayerRef("test", str(n), f"player {n}") for n in range(200)]
        first = await asyncio.gather(*(recorders[n % 2].record(round_id, p, True) for n, p in enumerate(players)),
                                     *(recorders[n % 2].record(round_id, p, False) for n, p in enumerate(players)))
        statuses = [outcome.status for outcome in first]
        assert statuses[:200] == [AnswerStatus.RECORDED] * 200
        assert statuses[200:] == [AnswerStatus.ALREADY] * 200
        assert max(outcome.answers_so_far for outcome in first) == 200
        async with db.transaction() as session:
            rows = (await session.execute(select(func.count()).select_from(Answer))).scalar_one()
        assert rows == 200
    finally:
        await db.close()
        await other.close()


async def test_click_from_another_chat_is_refused(tmp_path: Path) -> None:
    from bot.quiz.recorder import AnswerRecorder
    from bot.refs import ChatRef, PlayerRef

    db, round_id = await _setup(tmp_path)
    try:
        recorder = AnswerRecorder(db)
        player = PlayerRef("test", "7", "Eve")
        stranger = await recorder.record(round_id, player, True, ChatRef("test", "another-chat"))
        assert stranger.status is AnswerStatus.NO_ROUND
        home = await recorder.record(round_id, player, True, ChatRef("test", "chat-1"))
        assert home.status is AnswerStatus.RECORDED
    finally:
        await db.close()


async def test_a_store_failure_during_the_retry_reaches_every_caller(tmp_path: Path) -> None:
    """A batch that meets a racing insert is retried one by one; if the store then fails, each
    caller must get the error, not wait forever on an answer that was never written."""
    from sqlalchemy.exc import IntegrityError, OperationalError

    from bot.quiz.recorder import AnswerRecorder
    from bot.refs import PlayerRef

    class FailingStore(AnswerRecorder):
        calls = 0

        async def _write(self, batch):  # type: ignore[no-untyped-def]
            self.calls += 1
            if self.calls == 1:
                raise IntegrityError("INSERT INTO answers", {}, Exception("another process raced"))
            raise OperationalError("INSERT INTO answers", {}, Exception("disk I/O error"))

    db, round_id = await _setup(tmp_path)
    try:
        recorder = FailingStore(db)
        players = [PlayerRef("test", str(n), f"player {n}") for n in range(3)]
        outcomes = await asyncio.wait_for(
            asyncio.gather(*(recorder.record(round_id, p, True) for p in players), return_exceptions=True), 5)
        assert all(isinstance(outcome, OperationalError) for outcome in outcomes)
    finally:
        await db.close()
