"""Discord shards: the real discord.py AutoShardedClient against the fake gateway's shards.

Each shard's session sees only its own guilds, events reach the shard of their guild, the
commands are synced by the process that runs shard 0 only, and the shard settings explain
themselves when they are wrong.
"""
from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any, AsyncIterator

import pytest

from bot import texts
from bot.app import Figment
from bot.settings import Settings
from bot.ops.shards import parse_shard_ids, shard_of
from bot.quiz.tips import tips_text
from generator.serving.direct import DirectSource
from tests.conftest import REPO, add_real_photos, make_settings
from tests.discord_fake import FakeDiscord
from tests.discord_fake.harness import running_bot
from tests.discord_fake.payloads import FakeMember
from tests.fakes import DrawnFaceModel
from tests.pg_fresh import fresh_database, reachable


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    server = await FakeDiscord(recommended_shards=2).start()
    yield server
    await server.close()


async def open_figment(path: Path) -> Figment:
    app = await Figment.open(make_settings(path, posted_size=128), DirectSource(DrawnFaceModel()))
    await add_real_photos(app)
    return app


def ready_guilds(fake: FakeDiscord, shard: int) -> set[int]:
    session = fake.gateway.shards[shard]
    [ready] = [event for event in session.log if event["t"] == "READY"]
    assert ready["d"]["shard"] == list(session.shard)
    return {int(guild["id"]) for guild in ready["d"]["guilds"]}


async def test_one_process_runs_every_shard_and_answers_in_each(fake: FakeDiscord, tmp_path: Path) -> None:
    guilds = [fake.add_guild(f"Server {n}", shard=(n % 2, 2)) for n in range(4)]
    people = [fake.add_member(guild, f"Player {n}") for n, guild in enumerate(guilds)]
    channels = [guild.add_text_channel("quiz") for guild in guilds]
    figment = await open_figment(tmp_path)
    ready = asyncio.Event()
    try:
        async with running_bot(fake, figment, shard_count=2, ready=ready):
            await fake.wait_for(lambda: fake.gateway.connected_shards() == {0, 1}, 15, "both shards")
            await asyncio.wait_for(ready.wait(), 15)  # on_ready once every shard of the process is ready
            assert fake.gateway.identifies == 2
            for shard in (0, 1):
                assert ready_guilds(fake, shard) == {g.id for g in guilds if shard_of(g.id, 2) == shard}
            assert len([r for r in fake.requests if r.method == "PUT" and "/commands" in r.path]) == 1
            for guild, member, channel in zip(guilds, people, channels):
                interaction = await fake.slash("tips", member, channel)
                assert (await fake.reply(interaction))["content"].startswith(tips_text()[:40])
                session = fake.gateway.shards[shard_of(guild.id, 2)]
                assert any(e["t"] == "INTERACTION_CREATE" and e["d"]["id"] == str(interaction.id)
                           for e in session.log), "the event went to another shard"
    finally:
        await figment.close()


async def test_auto_asks_discord_for_the_shard_count(fake: FakeDiscord, tmp_path: Path) -> None:
    fake.add_guild("Even", shard=(0, 2))
    fake.add_guild("Odd", shard=(1, 2))
    figment = await open_figment(tmp_path)
    try:
        async with running_bot(fake, figment, shard_count="auto"):
            await fake.wait_for(lambda: fake.gateway.connected_shards() == {0, 1}, 15, "both shards")
            assert [r.path for r in fake.requests if r.path == "/gateway/bot"] == ["/gateway/bot"]
            assert {s.shard for s in fake.gateway.shards.values()} == {(0, 2), (1, 2)}
    finally:
        await figment.close()


async def test_two_processes_split_the_shards_and_only_shard_zero_syncs(fake: FakeDiscord, tmp_path: Path) -> None:
    """Two bots (as two processes would run them) share one database: shard 0 and shard 1 of 2.
    A guild's commands and clicks reach the bot running its shard; only shard 0's bot syncs."""
    even, odd = fake.add_guild("Even", shard=(0, 2)), fake.add_guild("Odd", shard=(1, 2))
    even_member, odd_member = fake.add_member(even, "Eve"), fake.add_member(odd, "Otto")
    even_room, odd_room = even.add_text_channel("quiz"), odd.add_text_channel("quiz")
    first = await open_figment(tmp_path / "a")
    second = await Figment.open(make_settings(tmp_path / "b", posted_size=128, database_url=first.settings.db_url),
                                DirectSource(DrawnFaceModel()))
    try:
        async with running_bot(fake, second, shard_count=2, shard_ids=(1,)):
            await fake.wait_for(lambda: fake.gateway.connected_shards() == {1}, 15, "shard 1")
            assert not [r for r in fake.requests if r.method == "PUT"], "a process without shard 0 synced"
            async with running_bot(fake, first, shard_count=2, shard_ids=(0,)):
                await fake.wait_for(lambda: fake.gateway.connected_shards() == {0, 1}, 15, "both shards")
                assert len([r for r in fake.requests if r.method == "PUT"]) == 1
                assert ready_guilds(fake, 0) == {even.id} and ready_guilds(fake, 1) == {odd.id}
                for shard, member, room in ((0, even_member, even_room), (1, odd_member, odd_room)):
                    started = await fake.slash("quiz", member, room, rounds=1)
                    assert (await fake.reply(started))["content"] == texts.DISCORD_QUIZ_STARTED
                    # only the bot holding the guild's shard heard the command
                    assert [e["d"]["id"] for e in fake.gateway.shards[shard].log
                            if e["t"] == "INTERACTION_CREATE"] == [str(started.id)]
                await first.quiz.wait_idle()
                await second.quiz.wait_idle()
                for room in (even_room, odd_room):
                    await fake.wait_for(lambda room=room: any(
                        m["content"].startswith("Game over!") for m in fake.channel_messages(room)), 15, "a summary")
    finally:
        await second.close()
        await first.close()


def test_shard_ids_setting_forms() -> None:
    assert parse_shard_ids("0,1") == (0, 1)
    assert parse_shard_ids("[2, 3]") == (2, 3)
    assert parse_shard_ids("0-3,8") == (0, 1, 2, 3, 8)
    assert parse_shard_ids(" ") is None
    for bad, why in (("x", "not a shard id"), ("1,1", "twice"), ("3-1", "backwards"), ("[1,", "JSON list"),
                     ("[true]", "whole numbers")):
        with pytest.raises(ValueError, match=why):
            parse_shard_ids(bad)
    settings = Settings(_env_file=None, discord_shard_count="4", discord_shard_ids="2-3")  # type: ignore[arg-type]
    assert settings.discord_shard_count == 4 and settings.discord_shard_ids == (2, 3)
    assert Settings(_env_file=None, discord_shard_count="auto").discord_shard_count == "auto"  # type: ignore[arg-type]


@pytest.mark.parametrize(("count", "ids", "said"), [
    ("2", "0,2", "FIGMENT_DISCORD_SHARD_IDS: shard 2 is outside FIGMENT_DISCORD_SHARD_COUNT=2 (shard ids run from 0 to 1)"),
    ("", "0", "FIGMENT_DISCORD_SHARD_IDS needs FIGMENT_DISCORD_SHARD_COUNT set to the number of shards"),
    ("0", "", "FIGMENT_DISCORD_SHARD_COUNT: a bot has at least 1 shard"),
    ("two", "", "FIGMENT_DISCORD_SHARD_COUNT: 'two' is not a number of shards"),
])
def test_a_bad_shard_setting_is_one_clear_line(tmp_path: Path, count: str, ids: str, said: str) -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "FIGMENT_DISCORD_TOKEN": "x",
           "FIGMENT_DISCORD_SHARD_COUNT": count, "FIGMENT_DISCORD_SHARD_IDS": ids, "COLUMNS": "80"}
    result = subprocess.run([sys.executable, "-m", "bot.cli", "run"], env=env, capture_output=True, text=True,
                            timeout=120, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: bad configuration: {said}" or \
        result.stderr.strip().startswith(f"error: bad configuration: {said}"), result.stderr
    assert "Traceback" not in result.stderr and "\n" not in result.stderr.strip()


def round_posts(fake: FakeDiscord, room: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in fake.channel_messages(room) if m.get("components")]


def summaries(fake: FakeDiscord, room: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in fake.channel_messages(room) if m["content"].startswith(("Game over!", "Game stopped."))]


async def test_after_a_takeover_the_next_game_posts_in_its_own_channel(fake: FakeDiscord, tmp_path: Path) -> None:
    """The process of the guild's shard stops twice mid-game (a deploy); the other process takes
    each game over. The first game ran in #first, the second was asked for in #second: the
    process taking over posts each game's rounds and summary in that game's channel, not in
    the one it posted in before."""
    if not await reachable():
        pytest.skip("no PostgreSQL server")
    guild = fake.add_guild("Odd", shard=(1, 2))
    member = fake.add_member(guild, "Otto")
    first_room, second_room = guild.add_text_channel("first"), guild.add_text_channel("second")
    async with fresh_database("discord_takeover") as url:
        options = dict(posted_size=128, round_seconds=3, game_lease_seconds=2.0, coordination_poll_seconds=0.2,
                       database_url=url)
        taker = await Figment.open(make_settings(tmp_path / "a", **options), DirectSource(DrawnFaceModel()))
        await add_real_photos(taker)
        shard_one = await Figment.open(make_settings(tmp_path / "b", **options), DirectSource(DrawnFaceModel()))
        try:
            await _two_games_taken_over(fake, taker, shard_one, member, [first_room, second_room])
        finally:
            await shard_one.close()
            await taker.close()


async def _two_games_taken_over(fake: FakeDiscord, taker: Figment, shard_one: Figment, member: FakeMember,
                                rooms: list[dict[str, Any]]) -> None:
    async with running_bot(fake, taker, shard_count=2, shard_ids=(0,)):
        await fake.wait_for(lambda: fake.gateway.connected_shards() == {0}, 15, "shard 0")
        for number, room in enumerate(rooms, start=1):
            async with running_bot(fake, shard_one, shard_count=2, shard_ids=(1,)):
                await fake.wait_for(lambda: 1 in fake.gateway.connected_shards(), 15, "shard 1")
                started = await fake.slash("quiz", member, room, rounds=3)
                assert (await fake.reply(started))["content"] == texts.DISCORD_QUIZ_STARTED
                await fake.wait_for(lambda room=room: round_posts(fake, room), 15, "the first round")
            # shard 1's process stopped mid-game: the taker finishes the game where it runs
            await fake.wait_for(lambda number=number: sum(len(summaries(fake, r)) for r in rooms) >= number, 40,
                                "the game's summary")
            await taker.quiz.wait_idle()
    for room in rooms:
        assert len(round_posts(fake, room)) == 3 and len(summaries(fake, room)) == 1
    assert len(fake.channel_messages(rooms[0])) == 4, "the second game posted in the first game's channel"
