"""Figment as a user-installed Discord app, end to end: the real discord.py client against the fake.

/challenge where the bot is not (other users' DM, a server it was never added to): answered only
through interactions, three players answering privately, the count and the reveal edited in with
the /challenge token inside its lifetime; /quiz and /settings saying where they run; both install
links from `figment discord sync`.
"""
from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
from sqlalchemy import select

from bot import texts
from bot.app import Figment
from bot.discord_app.challenge import MAX_SECONDS, TOKEN_LIFETIME
from db.models import Player, Round, Score
from db.scopes import ALL_TIME, GLOBAL_SCOPE
from generator.serving.direct import DirectSource
from tests.conftest import add_real_photos, make_settings
from tests.discord_fake import FakeDiscord
from tests.discord_fake.harness import buttons, ephemeral_text, make_world, running_bot
from tests.discord_fake.payloads import FakeGuild, FakeMember
from tests.fakes import DrawnFaceModel

LIFETIME = 40.0  # the fake's interaction token lifetime here (Discord's is 15 minutes)


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    server = await FakeDiscord(token_lifetime=LIFETIME).start()
    yield server
    await server.close()


async def open_figment(tmp_path: Path, **overrides: Any) -> Figment:
    app = await Figment.open(make_settings(tmp_path, posted_size=128, **overrides), DirectSource(DrawnFaceModel()))
    await add_real_photos(app, 3)
    return app


def elsewhere(fake: FakeDiscord) -> tuple[FakeGuild, dict[str, Any], list[FakeMember]]:
    """A server the bot was never added to, with three members who installed Figment for themselves."""
    guild = fake.add_guild("Friends (no bot)")
    guild.bot_installed = False
    channel = guild.add_text_channel("chat")
    return guild, channel, [fake.add_member(guild, name) for name in ("Ada", "Bob", "Cy")]


async def truth_of(figment: Figment, round_id: int) -> bool:
    async with figment.db.transaction() as session:
        found = await session.get(Round, round_id)
        assert found is not None
        return found.is_real


def challenge_round(message: dict[str, Any]) -> int:
    return int(buttons(message)[0]["custom_id"].split(":")[2])


async def play(fake: FakeDiscord, figment: Figment, players: list[FakeMember], channel: dict[str, Any]
               ) -> tuple[Any, dict[str, Any], bool]:
    """Players[0] posts /challenge in channel; each player answers (the second one wrongly)."""
    command = await fake.slash("challenge", players[0], channel)
    posted = await fake.reply(command)
    assert posted["attachments"] and not posted["flags"] & 64  # public: the chat sees it
    assert posted["content"] == figment.challenges.caption(0, 0, figment.settings.challenge_seconds)
    round_id = challenge_round(posted)
    truth = await truth_of(figment, round_id)
    for index, player in enumerate(players):
        guess = truth if index != 1 else not truth
        click = await fake.click(posted, f"figment:challenge:{round_id}:{'r' if guess else 'f'}", player)
        assert (await ephemeral_text(fake, click)).startswith("Right" if index != 1 else "Wrong")
        if index == 0:  # the public count moves, never the truth
            await fake.wait_for(lambda: "1 answered so far" in fake.messages[int(posted["id"])]["content"],
                                what="the count")
    return command, posted, truth


async def scored(figment: Figment, round_id: int, timeout: float = 15.0) -> None:
    """The reveal's edit comes first, its scores in the transaction right after: wait for them."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        async with figment.db.transaction() as session:
            if (await session.get(Round, round_id)).revealed_at is not None:  # type: ignore[union-attr]
                return
        assert asyncio.get_running_loop().time() < deadline, f"challenge {round_id} was never scored"
        await asyncio.sleep(0.05)


async def global_board(figment: Figment) -> list[tuple[str, int, int]]:
    async with figment.db.transaction() as session:
        rows = (await session.execute(
            select(Player.platform_user_id, Score.answers, Score.correct).join(Player, Player.id == Score.player_id)
            .where(Score.scope == GLOBAL_SCOPE, Score.period == ALL_TIME))).all()
    return sorted((str(u), int(a), int(c)) for u, a, c in rows)


async def test_challenge_in_other_users_dm_three_answers_then_the_reveal(fake: FakeDiscord, tmp_path: Path) -> None:
    make_world(fake, [])  # the bot's own server: where its commands were synced from
    figment = await open_figment(tmp_path, challenge_answers=3)
    _, _, people = elsewhere(fake)
    group_dm = fake.add_private_channel(people, group=True)
    try:
        async with running_bot(fake, figment):
            command, posted, truth = await play(fake, figment, people, group_dm)
            # the third answer closes it: the /challenge response is edited through its own token
            message = await fake.wait_for(lambda: (m := fake.messages[int(posted["id"])])["content"].startswith(
                "Challenge over") and m, what="the reveal")
            assert "2 of 3 got it right" in message["content"]
            assert ("REAL photo" in message["content"]) == truth
            assert all(button["disabled"] for button in buttons(message))
            edits = [r for r in fake.requests if r.method == "PATCH" and r.ok
                     and r.path == f"/webhooks/{fake.application_id}/{command.token}/messages/{posted['id']}"]
            assert len(edits) >= 2  # the count, then the reveal
            assert not [r for r in fake.requests if r.path.startswith(f"/channels/{group_dm['id']}")]
            await scored(figment, challenge_round(posted))
        assert await global_board(figment) == sorted(
            [(str(people[0].id), 1, 1), (str(people[1].id), 1, 0), (str(people[2].id), 1, 1)])
        assert not fake.breaches
    finally:
        await figment.close()


async def test_challenge_in_a_server_without_the_bot_reveals_inside_the_token_life(fake: FakeDiscord,
                                                                                    tmp_path: Path) -> None:
    make_world(fake, [])
    figment = await open_figment(tmp_path, challenge_seconds=4)
    _, channel, people = elsewhere(fake)
    try:
        async with running_bot(fake, figment):
            command, posted, _ = await play(fake, figment, people, channel)
            message = await fake.wait_for(lambda: (m := fake.messages[int(posted["id"])])["content"].startswith(
                "Challenge over") and m, timeout=20, what="the reveal on time")
            assert "2 of 3 got it right" in message["content"]
            [reveal] = [r for r in fake.requests if r.method == "PATCH" and r.ok and "Challenge over" in
                        str((r.body or {}).get("content"))]
            assert reveal.at - (time.time() - (time.monotonic() - command.created)) < LIFETIME
            await scored(figment, challenge_round(posted))
        assert len(await global_board(figment)) == 3
        assert not fake.breaches  # nothing posted in a channel the bot cannot see, no dead token used
    finally:
        await figment.close()


async def test_a_long_challenge_is_cut_to_fit_the_token(fake: FakeDiscord, tmp_path: Path) -> None:
    make_world(fake, [])
    figment = await open_figment(tmp_path, challenge_seconds=3600)
    guild, channel, people = elsewhere(fake)
    try:
        async with running_bot(fake, figment):
            posted = await fake.reply(await fake.slash("challenge", people[0], channel))
            round_id = challenge_round(posted)
            await asyncio.sleep(0.5)
            async with figment.db.transaction() as session:
                found = await session.get(Round, round_id)
                assert found is not None and found.message_ref is not None
                assert (found.closes_at - found.opened_at).total_seconds() <= MAX_SECONDS + 5 < TOKEN_LIFETIME
            # A clicker whose Discord speaks Brazilian Portuguese gets their private answer in it.
            guest = fake.add_member(guild, "Bia", locale="pt-BR")
            is_real = await truth_of(figment, round_id)
            click = await fake.click(posted, f"figment:challenge:{round_id}:{'r' if is_real else 'f'}", guest)
            said = await ephemeral_text(fake, click)
            assert said == texts.lang("pt-BR").challenge_answer(True, is_real)
            assert said != texts.challenge_answer(True, is_real)  # holds once the catalogue translates it
    finally:
        await figment.close()


async def test_commands_that_need_the_bot_say_so_elsewhere(fake: FakeDiscord, tmp_path: Path) -> None:
    world = make_world(fake, ["Dan"])
    figment = await open_figment(tmp_path)
    _, channel, people = elsewhere(fake)
    dm = fake.add_private_channel(people[:2])
    try:
        async with running_bot(fake, figment):
            for name in ("face", "challenge", "stats", "daily"):  # offered anywhere to a user install
                assert fake.offered(fake.synced_command(name, None), 2, 1)
            for name in ("quiz", "settings"):  # Discord offers these only where the bot is
                assert not fake.offered(fake.synced_command(name, None), 0, 1)
                with pytest.raises(AssertionError, match="does not offer"):
                    await fake.slash(name, people[0], channel)
            # a client whose command list is out of date sends them anyway: a private note, no game
            quiz = await fake.slash("quiz", people[0], channel, stale_client=True)
            assert await ephemeral_text(fake, quiz) == texts.DISCORD_USER_INSTALL_ONLY
            settings = await fake.slash("settings", people[0], dm, stale_client=True, seconds=30)
            assert await ephemeral_text(fake, settings) == texts.DISCORD_USER_INSTALL_ONLY
            face = await fake.reply(await fake.slash("face", people[1], dm, seed=5))
            assert face["attachments"]  # /face works there, through the interaction alone
            stats = await fake.reply(await fake.slash("stats", people[1], channel))
            assert stats["content"]
            # where the bot is, /quiz still runs
            started = await fake.slash("quiz", world.members[0], world.general, rounds=1)
            assert await ephemeral_text(fake, started) == texts.DISCORD_QUIZ_STARTED
            await fake.wait_for(lambda: fake.channel_messages(world.general), what="the game's first round")
        assert not fake.breaches
    finally:
        await figment.close()


async def test_cli_sync_prints_both_install_links(fake: FakeDiscord, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from bot.cli import app
    from bot.settings import get_settings

    monkeypatch.chdir(tmp_path)  # no .env here
    for key, value in (("FIGMENT_DISCORD_TOKEN", fake.token), ("FIGMENT_DISCORD_API_URL", fake.rest_base),
                       ("FIGMENT_DATA_DIR", str(tmp_path / "data"))):
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("FIGMENT_DISCORD_TEST_GUILD", raising=False)
    get_settings.cache_clear()
    try:  # the CLI runs its own event loop: in a thread, while this one serves the fake
        result = await asyncio.to_thread(CliRunner().invoke, app, ["discord", "sync"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    [server_link] = [line for line in result.output.splitlines() if "integration_type=0" in line]
    assert f"client_id={fake.application_id}" in server_link and "scope=bot+applications.commands" in server_link
    assert f"client_id={fake.application_id}&scope=applications.commands&integration_type=1" in result.output
    assert {c["name"] for c in fake.commands["global"]} >= {"challenge", "face", "quiz"}
