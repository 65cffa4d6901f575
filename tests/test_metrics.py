"""Operators' metrics: `figment run` serves them over HTTP, and they follow a real game.

The games are played on the real front-ends against the fake platforms; the pages are scraped over
HTTP and read with prometheus_client's parser (generator.serving.prometheus.scraped).
"""
from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import AsyncIterator, Callable

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from bot import texts
from bot.app import Figment
from bot.cli import app as cli
from bot.ops.server import MetricsPortError, MetricsServer, serve_metrics
from bot.ops.runner import run_bots
from bot.settings import get_settings
from generator.serving.direct import DirectSource
from generator.serving.prometheus import scraped
from tests.conftest import add_real_photos, make_settings
from tests.discord_fake import FakeDiscord
from tests.discord_fake.harness import answer_id, ephemeral_text, make_world, round_id_of, running_bot
from tests.fakes import DrawnFaceModel
from tests.telegram_fake import FakeBotApi
from tests.telegram_fake.harness import message_id, replies, round_id, round_posts, toast

GROUP = -1005550001111


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def scrape(port: int) -> str:
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/metrics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return await response.text()


async def scrape_until(port: int, ready: Callable[[str], bool], what: str, timeout: float = 15.0) -> str:
    """Scrape until `ready(page)`: a handler's time is counted just after its last reply left."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not ready(page := await scrape(port)):
        assert asyncio.get_running_loop().time() < deadline, f"the metrics never showed {what}:\n{page}"
        await asyncio.sleep(0.05)
    return page


def bot_errors(page: str, platform: str) -> dict[str, float]:
    """figment_bot_platform_errors_total of one platform, by kind."""
    return {sample.labels["kind"]: sample.value for family in text_string_to_metric_families(page)
            for sample in family.samples
            if sample.name == "figment_bot_platform_errors_total" and sample.labels["platform"] == platform}


async def test_figment_run_serves_metrics_that_follow_a_telegram_game(tmp_path: Path) -> None:
    port = free_port()
    async with FakeBotApi() as api:
        settings = make_settings(tmp_path, telegram_token=api.token, telegram_api_url=api.base_url, device="cpu",
                                 curate_k=1, posted_size=128, round_seconds=30, metrics_port=port)
        seeded = await Figment.open(settings, DirectSource(DrawnFaceModel()))  # the photos the run will find
        await add_real_photos(seeded)
        await seeded.close()
        stop = asyncio.Event()
        task = asyncio.create_task(run_bots(settings, stop))
        try:
            await api.wait_calls("setMyCommands", timeout=120)
            page = await scrape(port)
            assert scraped(page, "figment_bot_rounds_posted_total") == 0
            assert scraped(page, "figment_bot_games_owned", platform="telegram") == 0
            assert scraped(page, "figment_generator_up") == 1  # the in-process generator, on the same page
            assert scraped(page, "process_resident_memory_bytes") > 0

            people = [api.user(301, "Ann"), api.user(302, "Bo")]
            chat = api.group(GROUP, "Counted", members=3)  # two players and the bot: rounds close early
            api.fault("getUpdates", "drop")  # each kind of trouble once, each retried by the bot
            api.fault("answerCallbackQuery", "500")
            api.fault("sendMessage", "429", retry_after=1)  # the summary
            api.command(chat, people[0], "/quiz 2")
            queries = []
            for number in (1, 2):
                post = (await round_posts(api, number, GROUP, timeout=60))[-1]
                rid, mid = round_id(post), message_id(post)
                if number == 1:
                    during = await scrape(port)
                    assert scraped(during, "figment_bot_games_owned", platform="telegram") == 1
                queries += [api.click(person, GROUP, mid, f"a:{rid}:r") for person in people]
                queries.append(api.click(people[0], GROUP, mid, f"a:{rid}:f"))  # a second answer: refused
                await api.wait_calls("editMessageCaption", 1, lambda c: int(c.params["message_id"]) == mid)
            [summary] = await replies(api, GROUP, timeout=30)
            assert summary.startswith("Game over! 2 rounds played.")
            toasts = [await toast(api, query) for query in queries]
            assert toasts.count(texts.ANSWER_RECORDED) == 4 and toasts.count(texts.ANSWER_ALREADY) == 2

            page = await scrape_until(port, lambda p: scraped(
                p, "figment_bot_handler_seconds_count", platform="telegram", handler="answer") == 6
                and scraped(p, "figment_bot_games_owned", platform="telegram") == 0,  # its summary marked posted
                "six clicks and the game done")
        finally:
            stop.set()
            await asyncio.wait_for(task, 60)

    def value(name: str, **labels: str) -> float:
        return scraped(page, name, **labels)

    assert value("figment_bot_rounds_posted_total", platform="telegram", mode="single") == 2
    assert value("figment_bot_rounds_revealed_total", platform="telegram", mode="single") == 2
    assert value("figment_bot_answers_total", platform="telegram", status="recorded") == 4
    assert value("figment_bot_answers_total", platform="telegram", status="already") == 2
    assert value("figment_bot_answers_total") == 6
    assert value("figment_bot_reveal_lag_seconds_count", platform="telegram") == 2
    assert value("figment_bot_reveal_lag_seconds_bucket", platform="telegram", le="+Inf") == 2
    assert value("figment_bot_reveal_lag_seconds_sum", platform="telegram") < 20  # closed early, shown at once
    assert value("figment_bot_handler_seconds_count", platform="telegram", handler="quiz") == 1
    assert value("figment_bot_games_owned", platform="telegram") == 0  # the game ended: no loop runs it
    assert value("figment_generator_requests_total", outcome="generated") \
        + value("figment_generator_requests_total", outcome="pool_hit") >= 1  # the fake rounds' faces
    errors = bot_errors(page, "telegram")
    assert errors == {"network": 1, "server_error": 1, "rate_limited": 1}, errors

    # The server stopped with the bot.
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.ClientConnectionError):
            await http.get(f"http://127.0.0.1:{port}/metrics")


@pytest.fixture
async def discord_fake() -> AsyncIterator[FakeDiscord]:
    server = await FakeDiscord().start()
    yield server
    await server.close()


async def test_discord_counts_commands_buttons_rounds_and_platform_errors(
        discord_fake: FakeDiscord, tmp_path: Path) -> None:
    fake = discord_fake
    world = make_world(fake, ["Ann", "Ben"])
    players = world.members
    figment = await Figment.open(make_settings(tmp_path, posted_size=64, round_seconds=2),
                                 DirectSource(DrawnFaceModel()))
    await add_real_photos(figment)
    server = MetricsServer(figment.metrics.registry)
    await server.start("127.0.0.1", 0)
    fake.fault("POST", r"^/channels/\d+/messages$", 500)  # the round's post fails once, then goes through
    fake.fault("POST", r"^/interactions/\d+/[^/]+/callback$", 429, retry_after=0.2)  # an answer's "thinking"
    try:
        async with running_bot(fake, figment):
            await fake.reply(await fake.slash("quiz", players[0], world.general, rounds=1))
            message = await fake.wait_for(lambda: fake.channel_messages(world.general)
                                          and fake.channel_messages(world.general)[0], 15, "the round")
            assert scraped(await scrape(server.port), "figment_bot_games_owned", platform="discord") == 1
            rid = round_id_of(message)
            clicks = [await fake.click(message, answer_id(rid, True), player) for player in players]
            again = await fake.click(message, answer_id(rid, False), players[0])
            assert [await ephemeral_text(fake, click) for click in clicks] == [texts.ANSWER_RECORDED] * 2
            assert await ephemeral_text(fake, again) == texts.ANSWER_ALREADY
            await fake.gateway.drop(4000)  # discord.py resumes by itself
            await fake.wait_for(lambda: fake.gateway.resumes == 1, 10, "a resume after the drop")
            await fake.wait_for(lambda: [m for m in fake.channel_messages(world.general)
                                         if m["content"].startswith("Game over!")], 15, "the summary")
            page = await scrape_until(server.port, lambda p: scraped(
                p, "figment_bot_handler_seconds_count", platform="discord", handler="answer") == 3
                and scraped(p, "figment_bot_games_owned", platform="discord") == 0,  # its summary marked posted
                "three clicks and the game done")
    finally:
        await server.stop()
        await figment.close()

    def value(name: str, **labels: str) -> float:
        return scraped(page, name, **labels)

    assert value("figment_bot_handler_seconds_count", platform="discord", handler="quiz") == 1
    assert value("figment_bot_rounds_posted_total", platform="discord", mode="single") == 1
    assert value("figment_bot_rounds_revealed_total", platform="discord", mode="single") == 1
    assert value("figment_bot_reveal_lag_seconds_count", platform="discord") == 1
    assert value("figment_bot_answers_total", platform="discord", status="recorded") == 2
    assert value("figment_bot_answers_total", platform="discord", status="already") == 1
    assert value("figment_bot_games_owned", platform="discord") == 0
    errors = bot_errors(page, "discord")
    assert errors == {"server_error": 1, "rate_limited": 1, "gateway": 1}, errors


@pytest.mark.parametrize("host, says", [("127.0.0.1", "the port is in use"),
                                         ("no-such-host.invalid", "no such address on this machine"),
                                         ("192.0.2.1", "no such address on this machine")])
async def test_a_bad_metrics_address_is_told_plainly(host: str, says: str) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        server = MetricsServer()
        with pytest.raises(MetricsPortError, match=says):
            await server.start(host, taken.getsockname()[1])
        await server.stop()  # nothing left to stop: harmless


async def test_metrics_are_off_unless_a_port_is_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert make_settings(tmp_path).metrics_port is None
    monkeypatch.setenv("FIGMENT_METRICS_PORT", "")  # a blank line in .env: off, not an error
    assert make_settings(tmp_path).metrics_port is None
    async with serve_metrics(make_settings(tmp_path, metrics_port=0)) as server:
        assert server is None


def test_a_metrics_port_in_use_stops_figment_run_with_a_clear_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        monkeypatch.setenv("FIGMENT_DATA_DIR", str(tmp_path / "data"))
        monkeypatch.setenv("FIGMENT_TELEGRAM_TOKEN", "123:never-used")
        monkeypatch.setenv("FIGMENT_METRICS_PORT", str(port))
        get_settings.cache_clear()
        try:
            result = CliRunner().invoke(cli, ["run"])
        finally:
            get_settings.cache_clear()
    said = " ".join(result.output.split())  # the console wraps long lines
    assert result.exit_code == 2, result.output
    assert f"error: cannot serve metrics on 127.0.0.1:{port}: the port is in use. Set FIGMENT_METRICS_PORT" in said
    assert "Traceback" not in said
    assert not (tmp_path / "data" / "figment.db").exists()  # stopped before anything else started
