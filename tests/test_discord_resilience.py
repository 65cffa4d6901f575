"""The Discord front-end under trouble: rate limits, server errors, a dropped gateway, restarts,
and a command set that is synced only when it changes. Real discord.py against the local fake."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot import texts
from bot.app import Figment
from bot.discord_app import DiscordStartError, serve, sync_now
from db.models import Answer
from generator.serving.direct import DirectSource
from tests.conftest import add_real_photos, make_settings
from tests.discord_fake import FakeDiscord
from tests.db_faults import slow_inserts
from tests.discord_fake.harness import (answer_id, ephemeral_text, fake, make_world,  # noqa: F401 (fake: a fixture)
                                        round_id_of, running_bot, wait_message_ref_stored)
from tests.fakes import DrawnFaceModel

CALLBACK = r"^/interactions/\d+/[^/]+/callback$"
CHANNEL_POST = r"^/channels/\d+/messages$"
CHANNEL_EDIT = r"^/channels/\d+/messages/\d+$"


async def open_figment(tmp_path: Path, **overrides: object) -> Figment:
    return await Figment.open(make_settings(tmp_path, posted_size=64, **overrides), DirectSource(DrawnFaceModel()))


async def count_answers(figment: Figment) -> int:
    async with figment.db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(Answer)) or 0)


async def test_a_click_is_acknowledged_in_time_when_the_database_is_slow(fake: FakeDiscord, tmp_path: Path) -> None:
    """Discord drops an interaction not acknowledged within 3 s: the click is deferred first,
    then recorded (once) however long the database takes, then answered privately."""
    world = make_world(fake, ["Ann"])
    player = world.members[0]
    figment = await open_figment(tmp_path, round_seconds=60)
    await add_real_photos(figment)
    try:
        async with running_bot(fake, figment):
            await fake.reply(await fake.slash("quiz", player, world.general, rounds=1))
            message = await fake.wait_for(lambda: fake.channel_messages(world.general)
                                          and fake.channel_messages(world.general)[0], 10, "the round")
            round_id = round_id_of(message)
            await wait_message_ref_stored(figment, round_id)
            await slow_inserts(figment.db, "answers", 5.0)  # each answer's write holds the database 5 s

            click = await fake.click(message, answer_id(round_id, True), player)
            # the fake refuses an acknowledgement later than 3 s, as Discord does
            [ack] = await fake.wait_for(lambda: fake.callbacks(click), 2.9, "the click's acknowledgement")
            assert ack.body["type"] == 5  # deferred: "thinking", privately
            assert await ephemeral_text(fake, click, timeout=20) == texts.ANSWER_RECORDED
            assert await count_answers(figment) == 1
            assert len(fake.callbacks(click)) == 1
    finally:
        await figment.close()


async def test_faults_lose_no_click(fake: FakeDiscord, tmp_path: Path) -> None:
    world = make_world(fake, ["Ann", "Ben", "Cat", "Dov"])
    players = world.members
    figment = await open_figment(tmp_path, round_seconds=8)
    await add_real_photos(figment)
    server_error = fake.fault("POST", CHANNEL_POST, 500)  # the round's post fails once
    try:
        async with running_bot(fake, figment):
            await fake.reply(await fake.slash("quiz", players[0], world.general, rounds=1))
            message = await fake.wait_for(lambda: fake.channel_messages(world.general)
                                          and fake.channel_messages(world.general)[0], 10, "the round")
            assert server_error.hits == 1  # discord.py retried it
            round_id = round_id_of(message)

            limited = fake.fault("POST", CALLBACK, 429, retry_after=0.3)  # the answer's reply is rate limited
            clicks = [await fake.click(message, answer_id(round_id, True), players[0])]
            assert await ephemeral_text(fake, clicks[0]) == texts.ANSWER_RECORDED
            assert limited.hits == 1

            # the gateway asks the client to reconnect: clicks meanwhile arrive after the RESUME
            await fake.gateway.ask_to_reconnect()
            clicks += [await fake.click(message, answer_id(round_id, False), p) for p in players[1:3]]
            await fake.wait_for(lambda: fake.gateway.resumes == 1, 10, "a resume after opcode 7")
            # the gateway drops the connection outright
            await fake.gateway.drop(4000)
            clicks.append(await fake.click(message, answer_id(round_id, True), players[3]))
            again = await fake.click(message, answer_id(round_id, False), players[0])
            await fake.wait_for(lambda: fake.gateway.resumes == 2, 10, "a resume after a drop")

            for click in clicks:
                assert await ephemeral_text(fake, click) == texts.ANSWER_RECORDED
            assert await ephemeral_text(fake, again) == texts.ANSWER_ALREADY
            assert fake.gateway.identifies == 1  # resumed, never a new session

            fake.fault("PATCH", CHANNEL_EDIT, 429, retry_after=0.2)  # the reveal is rate limited too
            assert await ephemeral_text(fake, await fake.slash("stop", players[0], world.general)) \
                == texts.DISCORD_GAME_STOPPED
        assert "of 4 got it right" in message["content"]  # the four clicks, none twice
        assert [m["content"].split()[0] for m in fake.channel_messages(world.general)] == ["Round", "Game"]
        # every click was handled exactly once: one accepted reply each, one answer each
        for interaction in fake.interactions.values():
            assert len(fake.callbacks(interaction)) == 1
        assert await count_answers(figment) == 4
    finally:
        await figment.close()


async def test_restart_mid_round_keeps_old_buttons_working(fake: FakeDiscord, tmp_path: Path) -> None:
    world = make_world(fake, ["Ann", "Ben", "Cat"])
    players = world.members
    first = await open_figment(tmp_path, round_seconds=3)
    await add_real_photos(first)
    async with running_bot(fake, first):
        await fake.reply(await fake.slash("quiz", players[0], world.general, rounds=2))
        round1 = await fake.wait_for(lambda: fake.channel_messages(world.general)
                                     and fake.channel_messages(world.general)[0], 10, "round 1")
        click = await fake.click(round1, answer_id(round_id_of(round1), True), players[0])
        assert await ephemeral_text(fake, click) == texts.ANSWER_RECORDED
    await first.close()  # the process dies mid-round

    second = await open_figment(tmp_path, round_seconds=3)
    async with running_bot(fake, second):
        # a button on the message the old process posted still counts
        old = await fake.click(round1, answer_id(round_id_of(round1), False), players[1])
        assert await ephemeral_text(fake, old) == texts.ANSWER_RECORDED
        await fake.wait_for(lambda: "of 2 got it right" in round1["content"], 10, "round 1's reveal")
        assert all(b["disabled"] for row in round1["components"] for b in row["components"])
        # round 2 goes to the same channel, found again after the restart
        round2 = await fake.wait_for(lambda: len(fake.channel_messages(world.general)) == 2
                                     and fake.channel_messages(world.general)[1], 10, "round 2")
        await wait_message_ref_stored(second, round_id_of(round2))
    await second.close()  # dies again, and stays down past round 2's end
    await asyncio.sleep(3.2)

    third = await open_figment(tmp_path, round_seconds=3)
    try:
        async with running_bot(fake, third):
            await fake.wait_for(lambda: "Nobody answered" in round2["content"], 10, "the overdue reveal")
            late = await fake.click(round2, answer_id(round_id_of(round2), True), players[2])
            assert await ephemeral_text(fake, late) == texts.ANSWER_CLOSED
            summary = await fake.wait_for(lambda: len(fake.channel_messages(world.general)) == 3
                                          and fake.channel_messages(world.general)[2], 10, "the summary")
        assert summary["content"].startswith("Game over! 2 rounds played.")
        assert await count_answers(third) == 2
    finally:
        await third.close()


async def test_commands_sync_only_when_the_set_changes(fake: FakeDiscord, tmp_path: Path) -> None:
    world = make_world(fake, ["Ann"])
    figment = await open_figment(tmp_path)
    record = figment.settings.data_dir / "discord_commands.json"

    def puts(path_end: str) -> int:
        return len([r for r in fake.requests if r.method == "PUT" and r.path.endswith(path_end) and r.ok])

    global_path = f"/applications/{fake.application_id}/commands"
    guild_path = f"/applications/{fake.application_id}/guilds/{world.guild.id}/commands"
    try:
        async with running_bot(fake, figment):
            pass
        assert puts(global_path) == 1 and {c["name"] for c in fake.commands["global"]} == {
            "face", "quiz", "daily", "challenge", "stop", "tips", "leaderboard", "stats", "hall", "forgetme", "settings",
            "check", "morph", "Check with Figment"}
        settings_command = next(c for c in fake.commands["global"] if c["name"] == "settings")
        assert settings_command["default_member_permissions"] == "32"  # Manage Server
        async with running_bot(fake, figment):  # same set: Discord is left alone
            pass
        assert puts(global_path) == 1

        stored = json.loads(record.read_text())
        stored[f"{fake.application_id}:global"] = "hash of an older command set"
        record.write_text(json.dumps(stored))
        async with running_bot(fake, figment):  # the set changed: sync
            pass
        assert puts(global_path) == 2

        async with running_bot(fake, figment, test_guild=world.guild.id):  # a test guild gets its own copy
            reply = await fake.reply(await fake.slash("face", world.members[0], world.general, seed=3))
            assert reply["attachments"]
        assert puts(guild_path) == 1 and fake.commands[str(world.guild.id)][0]["guild_id"] == str(world.guild.id)
        assert puts(global_path) == 2

        # `figment discord sync` forces a sync, over REST only
        synced, invite = await sync_now(fake.token, guild_id=None, record_path=record, base_url=fake.rest_base)
        assert synced and puts(global_path) == 3
        assert f"client_id={fake.application_id}" in invite and "applications.commands" in invite

        with pytest.raises(DiscordStartError, match="token"):
            await asyncio.wait_for(serve(figment, "wrong-token", asyncio.Event(), base_url=fake.rest_base,
                                         gateway_url=fake.gateway_url), 10)
    finally:
        await figment.close()


def test_cli_sync_without_a_token_says_what_to_set(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from bot.cli import app
    from bot.settings import get_settings

    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.delenv("FIGMENT_DISCORD_TOKEN", raising=False)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["discord", "sync"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2 and "FIGMENT_DISCORD_TOKEN is not set" in result.output
    assert "Traceback" not in result.output
