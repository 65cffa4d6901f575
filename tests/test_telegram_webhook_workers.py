"""Two Telegram webhook workers behind one URL: a round-robin proxy in front of their ports.

Both workers take updates of every chat, agree on the webhook secret without it being set, and
when one goes away the fake Bot API (as Telegram) sends its updates again until the other takes
them. The proof with real processes, a real PostgreSQL and a kill is tests/test_multiprocess_telegram.py.
"""
from __future__ import annotations

import asyncio

import socket
from pathlib import Path
from typing import AsyncIterator

import aiohttp
import pytest
from telegram import Update
from telegram.ext import ApplicationBuilder, TypeHandler

from bot import texts
from bot.app import Figment
from bot.telegram_app.webhook import WebhookReceiver
from generator.serving.direct import DirectSource
from tests.conftest import make_settings
from tests.fakes import DrawnFaceModel
from tests.telegram_fake import FakeBotApi
from tests.telegram_fake.balancer import RoundRobin
from tests.telegram_fake.harness import RunningBot, replies, start_bot


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(webhook_timeout=2.0, webhook_retry=0.1) as server:
        yield server


async def start_worker(api: FakeBotApi, proxy: RoundRobin, name: str, port: int, data: Path) -> RunningBot:
    settings = make_settings(data)
    figment = await Figment.open(settings, DirectSource(DrawnFaceModel()))
    return await start_bot(api, settings, figment, base_url=api.base_url_via(name), webhook_url=proxy.url("/tg/hook"),
                           webhook_listen="127.0.0.1", webhook_port=port)


async def forwarded(proxy: RoundRobin, count: int, status: int | None = None, timeout: float = 10.0) -> None:
    """Wait until the proxy has `count` answers from workers (of `status`, if given)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len([f for f in proxy.forwards if status is None or f.status == status]) < count:
        assert loop.time() < deadline, f"only {len(proxy.forwards)} updates forwarded"
        await asyncio.sleep(0.02)


async def test_two_workers_share_one_webhook_url(api: FakeBotApi, tmp_path: Path) -> None:
    ports = [free_port(), free_port()]
    proxy = await RoundRobin([f"http://127.0.0.1:{port}" for port in ports]).start()
    workers = [await start_worker(api, proxy, f"w{n}", port, tmp_path / f"w{n}") for n, port in enumerate(ports)]
    try:
        hooks = api.calls_to("setWebhook")
        assert {call.via for call in hooks} == {"w0", "w1"}
        # no secret configured: both derive the same one, so the second setWebhook locks nobody out
        assert len({call.params["secret_token"] for call in hooks}) == 1
        users = [api.user(100 + n, f"User {n}") for n in range(10)]
        for user in users:
            api.command(api.private(user), user, "/help")
        for user in users:
            assert await replies(api, user["id"]) == [texts.HELP]
        await forwarded(proxy, 10)  # a worker answers once it has handled the update: after its reply
        assert proxy.received_by(0) and proxy.received_by(1), "the proxy sent every update to one worker"
        assert {c.via for c in api.calls_to("sendMessage")} == {"w0", "w1"}
        assert all(f.status == 200 for f in proxy.forwards)

        await workers[0].close()  # its port closes: what the proxy sends there is refused (502)
        later = [api.user(200 + n, f"Later {n}") for n in range(6)]
        for user in later:
            api.command(api.private(user), user, "/help")
        for user in later:
            assert await replies(api, user["id"]) == [texts.HELP]
        await forwarded(proxy, 16, status=200)
        assert any(f.worker == 0 and f.status == 0 for f in proxy.forwards)  # tried, unreachable
        assert any(a.status == 502 for a in api.sender.attempts)  # so the update was sent again
        late_ids = {u["update_id"] for u in api.updates[-6:]}
        assert late_ids <= proxy.received_by(1) and not late_ids & proxy.received_by(0)
        assert len(api.calls_to("sendMessage")) == 16  # each update answered once
    finally:
        for worker in workers:
            if not worker.task.done():
                await worker.close()
        await proxy.close()


async def test_a_worker_answers_telegram_only_once_it_handled_the_update(api: FakeBotApi) -> None:
    """A worker that dies while handling an update has not confirmed it, so Telegram sends it again."""
    application = ApplicationBuilder().token(api.token).base_url(api.base_url).updater(None).build()
    handling, release = asyncio.Event(), asyncio.Event()

    async def slow_handler(update: Update, context: object) -> None:
        handling.set()
        await release.wait()
    application.add_handler(TypeHandler(Update, slow_handler))
    await application.initialize()
    receiver = WebhookReceiver(application, "/hook", "s3cret")
    await receiver.start("127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession() as http:
            post = asyncio.create_task(http.post(f"http://127.0.0.1:{receiver.port}/hook", json={"update_id": 7},
                                                 headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret"}))
            await asyncio.wait_for(handling.wait(), 5)
            await asyncio.sleep(0.2)
            assert not post.done()  # still handling: Telegram has no answer yet
            release.set()
            answer = await asyncio.wait_for(post, 5)
            assert answer.status == 200
    finally:
        await receiver.stop()
        await application.shutdown()
