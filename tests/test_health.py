"""Operators' health pages: /livez and /readyz beside /metrics.

`figment run` itself (run_bots) on a real SQLite file, with the real python-telegram-bot and
discord.py clients against the local fakes; the pages are read over HTTP.
"""
from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.app import Figment
from bot.ops.health import Readiness
from bot.ops.server import MetricsServer
from bot.ops.runner import run_bots
from tests.conftest import make_settings
from generator.serving.service import GeneratorService, ServiceConfig
from tests.discord_fake import FakeDiscord
from tests.fakes import GatedModel
from tests.telegram_fake import FakeBotApi
from tests.test_metrics import free_port

RUN_START = 120.0  # seconds: migrations and the in-process generator on a busy CPU


async def page(port: int, path: str, timeout: float = 10.0) -> tuple[int, Any]:
    """(status, JSON body) of GET path."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as http, \
            http.get(f"http://127.0.0.1:{port}{path}") as response:
        return response.status, await response.json()


async def readyz_until(port: int, wanted: int, what: str, timeout: float = RUN_START,
                       seen: list[tuple[int, Any]] | None = None) -> dict[str, Any]:
    """Poll /readyz until it answers `wanted`; every answer on the way goes to `seen`."""
    deadline = time.monotonic() + timeout
    last: Any = "no answer"
    while time.monotonic() < deadline:
        try:
            status, body = await page(port, "/readyz")
        except aiohttp.ClientConnectionError:  # not listening yet
            await asyncio.sleep(0.05)
            continue
        if seen is not None:
            seen.append((status, body))
        if status == wanted:
            return body
        last = (status, body)
        await asyncio.sleep(0.05)
    raise AssertionError(f"/readyz never answered {wanted} ({what}); last: {last}")


async def stopped(task: asyncio.Task[None], stop: asyncio.Event, port: int) -> None:
    stop.set()
    await asyncio.wait_for(task, 60)
    with pytest.raises(aiohttp.ClientConnectionError):  # the pages stop with the bot
        await page(port, "/livez")


async def test_telegram_run_is_ready_once_polling_and_not_while_its_database_is_gone(tmp_path: Path) -> None:
    port = free_port()
    async with FakeBotApi() as api:
        # getMe answers slowly: a moment when the core is open and Telegram not yet connected
        api.fault("getMe", "slow", delay=2.0)
        settings = make_settings(tmp_path, telegram_token=api.token, telegram_api_url=api.base_url, device="cpu",
                                 curate_k=1, metrics_port=port)
        stop = asyncio.Event()
        task = asyncio.create_task(run_bots(settings, stop))
        try:
            seen: list[tuple[int, Any]] = []
            ready = await readyz_until(port, 200, "the bot polling", seen=seen)
            assert ready == {"ready": True, "checks": {"database": "ok", "faces": "ok", "telegram": "ok"}}
            before = [body for status, body in seen if status == 503]
            assert before and all(body["ready"] is False and "telegram" in body["not_ready"] for body in before)
            assert any(body["checks"]["telegram"] == "not connected yet" and body["checks"].get("database") == "ok"
                       for body in before), before
            assert await page(port, "/livez") == (200, {"live": True})

            # The database file goes away (a lost volume): not ready, and the answer names it.
            database = settings.data_dir / "figment.db"
            database.rename(tmp_path / "elsewhere.db")
            gone = await readyz_until(port, 503, "the database gone", timeout=15)
            assert gone["not_ready"] == ["database"] and gone["checks"]["database"].startswith("unreachable")
            assert gone["checks"]["telegram"] == "ok"
            assert (await page(port, "/livez"))[0] == 200  # alive all the same: no restart would help
            (tmp_path / "elsewhere.db").rename(database)
            await readyz_until(port, 200, "the database back", timeout=15)
        finally:
            if not task.done():
                await stopped(task, stop, port)
        task.result()


async def test_discord_run_is_ready_only_while_every_shard_is_connected(tmp_path: Path) -> None:
    port = free_port()
    fake = FakeDiscord(recommended_shards=2)
    gateway_open = asyncio.Event()  # closed: the gateway refuses connections, as during an outage
    handle = fake.gateway.handle

    async def gated(request: web.Request) -> web.StreamResponse:
        if not gateway_open.is_set():
            raise web.HTTPServiceUnavailable()
        return await handle(request)

    fake.gateway.handle = gated  # type: ignore[method-assign]
    await fake.start()
    settings = make_settings(tmp_path, discord_token=fake.token, discord_api_url=fake.rest_base,
                             discord_gateway_url=fake.gateway_url, discord_shard_count=2, device="cpu",
                             curate_k=1, metrics_port=port)
    stop = asyncio.Event()
    task = asyncio.create_task(run_bots(settings, stop))
    try:
        deadline = time.monotonic() + RUN_START
        while True:  # the core opens and logs in over REST; the gateway still refuses
            waiting = await readyz_until(port, 503, "anything")
            if waiting["checks"].get("database") == "ok" and fake.commands:
                break
            assert time.monotonic() < deadline, waiting
            await asyncio.sleep(0.1)
        assert waiting["checks"]["discord"] in ("not connected yet", "gateway not ready"), waiting
        assert "discord" in waiting["not_ready"]

        gateway_open.set()
        ready = await readyz_until(port, 200, "both shards connected", timeout=60)
        assert ready["checks"]["discord"] == "ok" and fake.gateway.connected_shards() == {0, 1}

        gateway_open.clear()
        await fake.gateway.drop(4000, shard=1)  # shard 1 drops and cannot come back for now
        down = await readyz_until(port, 503, "shard 1 down", timeout=15)
        assert down["checks"]["discord"] == "shard 1 not connected" and down["not_ready"] == ["discord"]
        gateway_open.set()
        await readyz_until(port, 200, "shard 1 back", timeout=60)
        assert fake.gateway.connected_shards() == {0, 1}
    finally:
        gateway_open.set()
        try:
            if not task.done():
                await stopped(task, stop, port)
        finally:
            await fake.close()
    task.result()


async def test_not_ready_until_the_face_pool_holds_a_face(tmp_path: Path) -> None:
    """A real core on a SQLite file, its generator service held before its first face."""
    model = GatedModel()
    config = ServiceConfig(pool_psis=(0.7,), pool_size=2, refill_batch=1, stall_seconds=60)
    async with GeneratorService(model, config) as source:
        figment = await Figment.open(make_settings(tmp_path, curate_k=1), source)
        readiness = Readiness()
        readiness.figment = figment
        server = MetricsServer(readiness=readiness)
        await server.start("127.0.0.1", 0)
        try:
            status, body = await page(server.port, "/readyz")
            assert status == 503 and body["not_ready"] == ["faces"], body
            assert body["checks"] == {"database": "ok", "faces": "no face ready in the pool yet"}
            model.gate.set()
            await readyz_until(server.port, 200, "the first face in the pool", timeout=30)
        finally:
            model.gate.set()
            await server.stop()
            await figment.close()


def test_livez_is_answered_by_the_event_loop_and_fails_while_it_is_blocked() -> None:
    """The server runs on its own loop in a thread (as the bot's loop): block that loop, and
    /livez times out; free it, and it answers again."""
    loop = asyncio.new_event_loop()
    server = MetricsServer()
    started = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start("127.0.0.1", 0))
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(30)

    async def probe(timeout: float) -> tuple[int, Any]:
        return await page(server.port, "/livez", timeout=timeout)

    try:
        assert asyncio.run(probe(10)) == (200, {"live": True})
        assert asyncio.run(page(server.port, "/readyz")) == (200, {"ready": True, "checks": {}})
        loop.call_soon_threadsafe(time.sleep, 3.0)  # some work that blocks the loop
        with pytest.raises(asyncio.TimeoutError):
            asyncio.run(probe(1.0))
        assert asyncio.run(probe(10)) == (200, {"live": True})
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()
