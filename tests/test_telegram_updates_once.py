"""Webhook updates are handled exactly once across workers, and never lost.

Two workers share one real database (a SQLite file, and PostgreSQL where a server runs): each is
a real python-telegram-bot Application behind our WebhookReceiver. Telegram retries any answer but
2xx, so a worker that cannot handle an update now must not answer 200: a redelivery that meets
another worker's live claim gets a 503 and is handled later, once; a claim whose worker died is
taken over after the claim timeout; a handler that runs longer than the timeout keeps its claim.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import AsyncIterator

import aiohttp
import pytest
from telegram import Update
from telegram.ext import ApplicationBuilder, TypeHandler

from db.database import Database
from bot.telegram_app.webhook import SECRET_HEADER, WebhookReceiver
from bot.ops.seen_updates import DONE, HANDLE, NOT_NOW, UpdateLog
from tests import db_faults
from tests.pg_fresh import fresh_schema
from tests.telegram_fake import FakeBotApi

TIMEOUT = timedelta(seconds=1.0)  # the claim timeout in these tests (30 s in production)
SECRET = "s3cret"


@pytest.fixture(params=["sqlite", "postgres"])
async def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'figment.db'}"
    else:
        url = await fresh_schema()
    db = Database(url)
    await db.ensure_schema()
    await db.close()
    return url


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        yield server


@dataclass
class Worker:
    """One webhook worker: its own engine on the shared database, its own Application."""

    name: str
    db: Database
    log: UpdateLog
    receiver: WebhookReceiver
    handled: list[int] = field(default_factory=list)
    hold: dict[int, asyncio.Event] = field(default_factory=dict)  # update id -> released when set
    started: dict[int, asyncio.Event] = field(default_factory=dict)

    def started_event(self, update_id: int) -> asyncio.Event:
        return self.started.setdefault(update_id, asyncio.Event())

    async def post(self, http: aiohttp.ClientSession, update_id: int) -> int:
        async with http.post(f"http://127.0.0.1:{self.receiver.port}/hook", json={"update_id": update_id},
                             headers={SECRET_HEADER: SECRET}) as answer:
            return answer.status


@pytest.fixture
async def workers(api: FakeBotApi, url: str) -> AsyncIterator[list[Worker]]:
    made: list[tuple[Worker, object]] = []
    for name in ("w0", "w1"):
        application = ApplicationBuilder().token(api.token).base_url(api.base_url).updater(None).build()
        db = Database(url)
        log = UpdateLog(db, "telegram", claim_timeout=TIMEOUT)
        worker = Worker(name, db, log, WebhookReceiver(application, "/hook", SECRET, log))

        async def handler(update: Update, context: object, worker: Worker = worker) -> None:
            worker.started_event(update.update_id).set()
            hold = worker.hold.get(update.update_id)
            if hold is not None:
                await hold.wait()
            worker.handled.append(update.update_id)
        application.add_handler(TypeHandler(Update, handler))
        await application.initialize()
        await worker.receiver.start("127.0.0.1", 0)
        made.append((worker, application))
    try:
        yield [worker for worker, _ in made]
    finally:
        for worker, application in made:
            for hold in worker.hold.values():
                hold.set()
            await worker.receiver.stop()
            await application.shutdown()  # type: ignore[attr-defined]
            await worker.db.close()


async def test_a_redelivery_while_another_worker_handles_it_is_refused_then_handled_once(
        workers: list[Worker]) -> None:
    first, second = workers
    first.hold[7] = asyncio.Event()
    async with aiohttp.ClientSession() as http:
        slow = asyncio.create_task(first.post(http, 7))
        await asyncio.wait_for(first.started_event(7).wait(), 10)
        # Telegram sent it again (the first answer was late) and the balancer chose the other worker:
        status = await second.post(http, 7)
        assert status != 200 and status >= 400, "a worker answered 200 for an update it did not handle"
        assert not second.log.remembers(7)  # not done: not remembered
        assert await first.post(http, 7) != 200  # nor to the first worker, while its handler runs
        first.hold[7].set()
        assert await asyncio.wait_for(slow, 10) == 200
        assert first.log.remembers(7)
        # Telegram's next try reaches the second worker again: done, confirmed, not handled again
        assert await second.post(http, 7) == 200
        assert await first.post(http, 7) == 200
    assert first.handled == [7] and second.handled == []


async def test_a_dead_workers_claim_is_taken_over_after_the_claim_timeout(workers: list[Worker]) -> None:
    first, second = workers
    # What a worker killed in its handler leaves: a claim, never refreshed, never finished.
    dead = UpdateLog(first.db, "telegram", claim_timeout=TIMEOUT)
    assert await dead.claim(8) == HANDLE
    async with aiohttp.ClientSession() as http:
        assert await second.post(http, 8) != 200  # the claim is fresh: maybe its worker lives
        assert not second.log.remembers(8)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10 * TIMEOUT.total_seconds()
        while (status := await second.post(http, 8)) != 200:  # Telegram retrying, as it does
            assert status == 503 and loop.time() < deadline, status
            await asyncio.sleep(0.1)
        assert second.handled == [8]
        assert await first.post(http, 8) == 200 and first.handled == []  # done: never again


async def test_a_long_handler_keeps_its_claim(workers: list[Worker]) -> None:
    """A handler waiting in a busy group's send lane may run for minutes: its claim stays fresh."""
    first, second = workers
    first.hold[9] = asyncio.Event()
    async with aiohttp.ClientSession() as http:
        slow = asyncio.create_task(first.post(http, 9))
        await asyncio.wait_for(first.started_event(9).wait(), 10)
        loop = asyncio.get_running_loop()
        until = loop.time() + 3.5 * TIMEOUT.total_seconds()
        while loop.time() < until:  # redeliveries for three and a half claim timeouts
            assert await second.post(http, 9) == 503
            await asyncio.sleep(0.2)
        first.hold[9].set()
        assert await asyncio.wait_for(slow, 10) == 200
        assert await second.post(http, 9) == 200
    assert first.handled == [9] and second.handled == []


async def test_an_update_is_remembered_only_once_done(url: str) -> None:
    db = Database(url)
    try:
        log, other = UpdateLog(db, "telegram", claim_timeout=TIMEOUT), UpdateLog(db, "telegram")
        assert await log.claim(1001) == HANDLE
        assert not log.remembers(1001)
        assert await log.claim(1001) == NOT_NOW  # delivered again to this worker while it handles it
        assert await other.claim(1001) == NOT_NOW
        assert not other.remembers(1001)
        await log.finished(1001)
        assert log.remembers(1001)
        assert await other.claim(1001) == DONE and other.remembers(1001)
        assert await UpdateLog(db, "discord").claim(1001) == HANDLE  # per platform
    finally:
        await db.close()


async def test_a_database_error_asks_for_the_update_again(tmp_path: Path) -> None:
    """The database cannot say whether the update was handled: not now (503), and not forgotten."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'figment.db'}")
    await db.ensure_schema()
    broken = [True]

    def fail() -> int:
        if broken[0]:
            raise RuntimeError("disk I/O error")
        return 0
    await db_faults.install(db, "broken_disk", fail, """
        CREATE TRIGGER broken_seen BEFORE INSERT ON seen_updates WHEN broken_disk()
        BEGIN SELECT 1; END""")
    try:
        log = UpdateLog(db, "telegram")
        assert await log.claim(5) == NOT_NOW
        assert not log.remembers(5)
        broken[0] = False
        assert await log.claim(5) == HANDLE  # the next delivery is handled
    finally:
        await db.close()
