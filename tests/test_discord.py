"""The Discord front-end end to end: the real discord.py client against a local fake Discord.

Commands, the face card, a whole game with persistent buttons, settings and bad input.
Faults, restarts and command syncing are in test_discord_resilience.py.
"""
from __future__ import annotations

import asyncio
import io
import time
from pathlib import Path
from typing import AsyncIterator

import pytest
from PIL import Image
from sqlalchemy import func, select

from bot import texts
from bot.app import Figment
from bot.boards import BOARD_USAGE
from db.models import Answer
from generator.serving.direct import DirectSource
from tests.conftest import add_real_photos, make_settings
from tests.discord_fake import FakeDiscord
from tests.discord_fake.harness import (World, answer_id, buttons, ephemeral_text, fake, make_world,  # noqa: F401
                                        round_id_of, running_bot, wait_message_ref_stored)
from tests.fakes import DrawnFaceModel
from tests.hall_data import face_round

NAMES = ["@everyone", "*Star* <@&123>", "Carol", "Dan", "Eve"]


@pytest.fixture
def world(fake: FakeDiscord) -> World:
    return make_world(fake, NAMES)


@pytest.fixture
async def figment(tmp_path: Path) -> AsyncIterator[Figment]:
    model = DrawnFaceModel(fail_on_seed=13)  # seed 13 breaks the model: an unexpected error
    app = await Figment.open(make_settings(tmp_path, posted_size=128), DirectSource(model))
    yield app
    await app.close()


def assert_no_mentions(fake: FakeDiscord) -> None:
    """Every message the bot sent or edited pings nobody."""
    requests = fake.message_requests()
    assert requests
    for request in requests:
        body = request.body.get("data", request.body) if "/callback" in request.path else request.body
        if "/callback" in request.path and request.body["type"] in (5, 6):
            continue  # a "thinking" acknowledgement carries no message
        assert body.get("allowed_mentions") == {"parse": []}, (request.path, body)


def decode(fake: FakeDiscord, message: dict) -> Image.Image:
    [attachment] = message["attachments"]
    return Image.open(io.BytesIO(fake.file_bytes(attachment)))


async def test_face_with_and_without_seed(fake: FakeDiscord, world: World, figment: Figment) -> None:
    alice = world.members[2]
    async with running_bot(fake, figment):
        first = await fake.slash("face", alice, world.general, seed=42, psi=0.5)
        card = await fake.reply(first)
        [embed] = card["embeds"]
        assert embed["title"] == texts.DISCORD_FACE_TITLE and texts.AI_NOTICE in embed["description"]
        fields = {field["name"]: field["value"] for field in embed["fields"]}
        assert fields == {"Seed": "42", "Truncation (psi)": "0.5", "Model": "test-drawn-1"}
        image = decode(fake, card)
        assert image.format == "PNG" and image.size == (128, 128)
        assert embed["image"]["url"] == f"attachment://{card['attachments'][0]['filename']}"
        assert [b["custom_id"] for b in buttons(card)] == ["figment:another:0.5"]
        assert not int(card["flags"]) & 64  # a face is for everyone to see
        # generation may take a while: the bot said "thinking" first, once
        [callback] = fake.callbacks(first)
        assert callback.body["type"] == 5

        again = await fake.reply(await fake.slash("face", alice, world.general, seed=42, psi=0.5))
        assert decode(fake, again).tobytes() == image.tobytes()  # same seed, same face

        random = await fake.reply(await fake.slash("face", alice, world.general))
        seed = {f["name"]: f["value"] for f in random["embeds"][0]["fields"]}["Seed"]
        assert seed.isdigit() and decode(fake, random).size == (128, 128)

        another = await fake.reply(await fake.click(card, "figment:another:0.5", world.members[3]))
        assert {f["name"]: f["value"] for f in another["embeds"][0]["fields"]}["Truncation (psi)"] == "0.5"
        assert decode(fake, another).size == (128, 128)
    assert_no_mentions(fake)


async def test_a_refused_face_is_told_privately(fake: FakeDiscord, world: World, tmp_path: Path) -> None:
    """After the public "thinking", a refusal (here the rate limit) goes to the asker alone."""
    app = await Figment.open(make_settings(tmp_path, posted_size=128, face_per_minute=1),
                             DirectSource(DrawnFaceModel()))
    alice = world.members[2]
    try:
        async with running_bot(fake, app):
            await fake.reply(await fake.slash("face", alice, world.general, seed=1))
            refused = await fake.slash("face", alice, world.general, seed=2)
            original = await fake.wait_for(
                lambda: refused.original_id is not None and fake.messages[refused.original_id].get("deleted"),
                what="the public 'thinking' message deleted")
            [followup_id] = await fake.wait_for(lambda: refused.followup_ids or None, what="a private follow-up")
            followup = fake.messages[followup_id]
            assert original and int(followup["flags"]) & 64 and "Easy there" in followup["content"]
    finally:
        await app.close()


class SlowModel(DrawnFaceModel):
    def generate(self, seeds, psi):  # type: ignore[no-untyped-def]
        time.sleep(0.8)
        return super().generate(seeds, psi)


async def test_slow_generation_is_deferred_within_the_window(tmp_path: Path) -> None:
    fake = await FakeDiscord(interaction_window=0.5).start()  # Discord's 3 s, scaled down
    world = make_world(fake, ["Alice"])
    app = await Figment.open(make_settings(tmp_path, posted_size=64), DirectSource(SlowModel()))
    try:
        async with running_bot(fake, app):
            card = await fake.reply(await fake.slash("face", world.members[0], world.general, seed=7))
            assert card["attachments"] and card["embeds"][0]["fields"][0]["value"] == "7"
    finally:
        await app.close()
        await fake.close()


async def test_three_round_game_with_five_members(fake: FakeDiscord, world: World, figment: Figment) -> None:
    await add_real_photos(figment)
    players = world.members
    async with running_bot(fake, figment):
        start = await fake.slash("quiz", players[0], world.general, rounds=3)
        assert (await fake.reply(start))["content"] == texts.DISCORD_QUIZ_STARTED

        for number in range(1, 4):
            posted = await fake.wait_for(lambda: len(fake.channel_messages(world.general)) >= number, 15,
                                         f"round {number}")
            message = fake.channel_messages(world.general)[number - 1]
            round_id = round_id_of(message)
            assert message["content"] == texts.round_caption(number, 3, 2)
            assert [b["custom_id"] for b in buttons(message)] == [answer_id(round_id, True), answer_id(round_id, False)]
            assert decode(fake, message).size == (128, 128)
            assert posted

            clicks = [await fake.click(message, answer_id(round_id, p % 2 == 0), players[p]) for p in range(4)]
            twice = await fake.click(message, answer_id(round_id, False), players[0])
            for click in clicks:
                assert await ephemeral_text(fake, click) == texts.ANSWER_RECORDED
            assert await ephemeral_text(fake, twice) == texts.ANSWER_ALREADY

            # the round runs its full time (nobody can count a server cheaply), then the reveal edits it
            revealed = await fake.wait_for(lambda: fake.messages[int(message["id"])]["content"].startswith(
                f"Round {number}/3: it was a"), 10, f"the reveal of round {number}")
            assert revealed
            shown = fake.messages[int(message["id"])]
            assert "got it right" in shown["content"] and "of 4" in shown["content"]
            assert all(b["disabled"] for b in buttons(shown)) and len(shown["attachments"]) == 1
            late = await fake.click(shown, answer_id(round_id, True), players[4])  # a stale screen
            assert await ephemeral_text(fake, late) == texts.ANSWER_CLOSED

        summary = (await fake.wait_for(
            lambda: [m for m in fake.channel_messages(world.general) if m["content"].startswith("Game over!")],
            10, "the summary"))[0]["content"]
    assert "3 rounds played" in summary and "This chat's board" in summary
    assert r"\*Star\* <@&123>" in summary and "@everyone" in summary  # escaped, and pinging nobody:
    assert_no_mentions(fake)
    async with figment.db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Answer)) == 12
    # each click got exactly one response
    for interaction in fake.interactions.values():
        assert len(fake.callbacks(interaction)) == 1


async def test_settings_need_manage_server(fake: FakeDiscord, world: World, figment: Figment) -> None:
    member = world.members[2]
    async with running_bot(fake, figment):
        refused = await fake.slash("settings", member, world.general, seconds=30)
        assert await ephemeral_text(fake, refused) == texts.NOT_ADMIN
        shown = await ephemeral_text(fake, await fake.slash("settings", member, world.general))
        assert "rounds last 2 s" in shown and texts.discord_quiz_channel(None) in shown

        changed = await ephemeral_text(fake, await fake.slash(
            "settings", world.admin, world.general, seconds=30, rounds=4, channel=world.quiz_room))
        assert "rounds last 30 s, a game has 4 rounds" in changed
        assert texts.discord_quiz_channel(f"<#{world.quiz_room['id']}>") in changed

        # games now run in the quiz channel, whoever starts them where
        await add_real_photos(figment)
        start = await fake.slash("quiz", member, world.general, rounds=2)
        assert (await fake.reply(start))["content"] == texts.discord_quiz_elsewhere(f"<#{world.quiz_room['id']}>")
        await fake.wait_for(lambda: fake.channel_messages(world.quiz_room), 10, "a round in #quiz")
        stop = await fake.slash("stop", member, world.general)
        assert await ephemeral_text(fake, stop) == texts.DISCORD_GAME_STOPPED
        assert fake.callbacks(stop)[0].body["type"] == 5  # deferred: stopping reveals and sums up
        summary = fake.channel_messages(world.quiz_room)[-1]["content"]
        assert summary.startswith("Game stopped.")
        assert "Nobody answered" in fake.channel_messages(world.quiz_room)[0]["content"]

        back = await ephemeral_text(fake, await fake.slash("settings", world.admin, world.general, any_channel=True))
        assert texts.discord_quiz_channel(None) in back
    assert await figment.chats.current(_chat(world)) == (30, 4)


def _chat(world: World):  # type: ignore[no-untyped-def]
    from bot.refs import ChatRef
    return ChatRef("discord", str(world.guild.id))


async def test_bad_options_get_friendly_private_answers(fake: FakeDiscord, world: World, figment: Figment) -> None:
    member = world.members[2]
    async with running_bot(fake, figment):
        async def answer(name: str, **options: object) -> str:
            return await ephemeral_text(fake, await fake.slash(name, member, world.general, **options))

        assert await answer("quiz") == texts.NO_PHOTOS
        await add_real_photos(figment)
        # out of range values (Discord's client checks ranges; a hand-made request does not)
        assert await answer("face", seed=-1) == texts.BAD_SEED
        assert await answer("face", seed=2**32) == texts.BAD_SEED
        assert await answer("face", psi=7.5) == texts.BAD_PSI
        assert await answer("face", seed="banana") == texts.BAD_SEED
        assert await answer("quiz", rounds=0) == texts.bad_rounds(20)
        assert await answer("quiz", rounds=50) == texts.bad_rounds(20)  # within Discord's range, over ours
        assert await answer("leaderboard", scope="banana") == BOARD_USAGE
        assert await answer("stop") == texts.NO_GAME
        assert (await answer("settings")).startswith("Settings:")
        admin_says = await ephemeral_text(fake, await fake.slash("settings", world.admin, world.general, seconds=1))
        assert admin_says == texts.settings_bad(5, 600, "round length in seconds")
        assert await answer("forgetme") == texts.FORGOTTEN_NOTHING
        ghost = {"id": "4242", "type": 0, "name": "ghost", "guild_id": str(world.guild.id)}  # not in the cache
        assert await ephemeral_text(fake, await fake.slash("settings", world.admin, world.general, channel=ghost)) \
            == texts.DISCORD_BAD_OPTION
        broken = await fake.reply(await fake.slash("face", member, world.general, seed=13))
        assert broken["content"] == texts.ERROR and not broken["attachments"]  # no traceback, no image

        stats = await fake.reply(await fake.slash("stats", member, world.general, member=world.members[1]))
        assert stats["content"].startswith(r"Stats for \*Star\* <@&123>:")
        board = await fake.reply(await fake.slash("leaderboard", member, world.general, scope="global",
                                                  period="week"))
        assert board["content"].startswith("Global board this week")
    assert_no_mentions(fake)
    async with figment.db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Answer)) == 0


async def test_hall_of_fakes(fake: FakeDiscord, world: World, figment: Figment) -> None:
    member = world.members[2]
    async with running_bot(fake, figment):
        empty = await fake.reply(await fake.slash("hall", member, world.general))
        assert empty["content"] == texts.hall_empty("week", 10) and not empty["attachments"]
        await face_round(figment, 77, fooled=9, answers=10)
        await face_round(figment, 78, fooled=10, answers=10, reveal=False)  # open: never in the hall
        hall = await fake.reply(await fake.slash("hall", member, world.general, period="all"))
        assert hall["content"].startswith("Hall of fakes, all time")
        assert "1. fooled 9 of 10 (90%) · seed 77" in hall["content"] and "seed 78" not in hall["content"]
        sheet = decode(fake, hall)
        assert sheet.format == "PNG" and "does not exist" in sheet.text["Description"]
        assert await ephemeral_text(fake, await fake.slash("hall", member, world.general, period="banana")) \
            == texts.HALL_USAGE
    assert_no_mentions(fake)


async def test_quiz_in_direct_messages_closes_when_the_player_answered(
        fake: FakeDiscord, world: World, figment: Figment) -> None:
    await add_real_photos(figment)
    player = world.members[3]
    dm = fake.add_dm(player)
    await figment.chats.update(_dm_chat(dm), is_admin=True, key="seconds", value="60")
    async with running_bot(fake, figment):
        await fake.reply(await fake.slash("quiz", player, dm, rounds=2))
        first = await fake.wait_for(lambda: fake.channel_messages(dm) and fake.channel_messages(dm)[0], 10)
        click = await fake.click(first, answer_id(round_id_of(first), True), player)
        assert await ephemeral_text(fake, click) == texts.ANSWER_RECORDED
        # one player in a direct message: no need to wait 60 s
        await fake.wait_for(lambda: "of 1 got it right" in first["content"], 10, "round 1's early reveal")
        second = await fake.wait_for(lambda: len(fake.channel_messages(dm)) == 2 and fake.channel_messages(dm)[1],
                                     10, "round 2")
        await wait_message_ref_stored(figment, round_id_of(second))  # a restart needs it
    async with running_bot(fake, figment):  # restarted: still one player, still no 60 s wait
        click = await fake.click(second, answer_id(round_id_of(second), False), player)
        assert await ephemeral_text(fake, click) == texts.ANSWER_RECORDED
        await fake.wait_for(lambda: "Game over!" in fake.channel_messages(dm)[-1]["content"], 10, "the summary")
    assert "of 1 got it right" in second["content"]


def _dm_chat(dm: dict):  # type: ignore[no-untyped-def]
    from bot.refs import ChatRef
    return ChatRef("discord", dm["id"])
