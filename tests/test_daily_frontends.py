"""The daily challenge end to end: on the fake Telegram and Discord servers with the real clients,
and through the playground's HTTP API. Two players get the same rounds (the same image bytes),
each plays once and privately, both see the share line and the daily boards; bad clicks (a
button from yesterday, a double click, a made-up button) and a second /daily get clear replies."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from PIL import Image

from bot import texts
from bot.app import Figment
from bot.daily import DAILY_ROUNDS
from bot.daily_keys import round_key
from bot.telegram_app.keyboards import daily_answer_data
from bot.web_app import build_app
from generator.serving.direct import DirectSource
from tests.conftest import REPO, add_real_photos, make_settings
from tests.daily_helpers import (DAILY_NUMBER, SHARE, TODAY, YESTERDAY, check_finish, expected_share, result,
                                 truths)
from tests.discord_fake import FakeDiscord
from tests.discord_fake.harness import buttons, ephemeral_text, make_world, running_bot
from tests.discord_fake.payloads import FakeMember, snowflake
from tests.fakes import DrawnFaceModel
from tests.telegram_fake import FakeBotApi
from tests.telegram_fake.harness import Call, message_id, replies, start_bot, toast
from tests.telegram_fake.harness import buttons as telegram_buttons
from tests.test_web import ADA, BOB, events, say

GROUP = -1005550001111


# --- Telegram ----------------------------------------------------------------------------------

async def daily_photo(api: FakeBotApi, chat_id: int, count: int) -> Call:
    """The `count`-th daily round posted in the chat (a photo with d: buttons)."""
    calls = await api.wait_calls("sendPhoto", count, lambda c: int(c.params["chat_id"]) == chat_id and any(
        data.startswith("d:") for data in telegram_buttons(c)), timeout=20)
    return calls[count - 1]


async def play_on_telegram(api: FakeBotApi, figment: Figment, user: dict[str, Any], guess_real: bool
                           ) -> tuple[list[bytes], str]:
    """One player's whole try in their private chat, always the same guess: (images, finish text)."""
    chat = api.private(user)
    since = api.last_seq
    api.command(chat, user, "/daily")
    images = []
    for number in range(1, DAILY_ROUNDS + 1):
        post = await daily_photo(api, user["id"], number)
        mid = message_id(post)
        assert post.params["caption"] == texts.daily_caption(DAILY_NUMBER, number, DAILY_ROUNDS)
        key = round_key(TODAY, number)
        assert telegram_buttons(post) == [f"d:{key}:r", f"d:{key}:f"]  # the day and round, never the truth
        assert len(post.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"].encode()) <= 64
        images.append(post.files["photo"].data)
        is_real = (await truths(figment))[number - 1]
        told = result(number, is_real, guess_real)
        click = api.click(user, user["id"], mid, daily_answer_data(TODAY, number, guess_real))
        assert await toast(api, click) == told
        [edit] = await api.wait_calls("editMessageCaption", 1, lambda c: int(c.params["message_id"]) == mid
                                      and int(c.params["chat_id"]) == user["id"], since=since)
        assert edit.params["caption"] == f"{post.params['caption']}\n{told}"
        assert not api.messages[(user["id"], mid)].get("reply_markup")  # answered: its buttons are gone
        if number == 1:
            # a double click: the same button again, after the answer went in
            again = api.click(user, user["id"], mid, daily_answer_data(TODAY, number, not guess_real))
            assert await toast(api, again) == texts.ANSWER_ALREADY
    [finish] = await replies(api, user["id"], since=since)
    return images, finish


async def test_the_daily_challenge_on_telegram(tmp_path: Path) -> None:
    async with FakeBotApi() as api:
        bot = await start_bot(api, make_settings(tmp_path, posted_size=128))
        try:
            await add_real_photos(bot.figment, count=6)
            ann, bob = api.user(301, "Ann"), api.user(302, "Bob")
            group = api.group(GROUP, "Daily club", members=3, owner=ann["id"])
            api.command(group, ann, "/daily")  # a group: a friendly pointer, nothing starts
            assert await replies(api, GROUP) == [texts.DAILY_PRIVATE]
            assert not api.calls_to("sendPhoto")

            # both play at once, each in their own chat (each chat keeps its own flood lane)
            (ann_images, ann_done), (bob_images, bob_done) = await asyncio.gather(
                play_on_telegram(api, bot.figment, ann, True), play_on_telegram(api, bot.figment, bob, False))
            assert ann_images == bob_images  # the same rounds, byte for byte
            assert len(set(ann_images)) == DAILY_ROUNDS
            real = await truths(bot.figment)
            ann_share, bob_share = expected_share(real, True), expected_share(real, False)
            check_finish(ann_done, ann_share, ["Ann"])
            check_finish(bob_done, bob_share, ["Bob"])
            since = api.last_seq
            api.command(api.private(ann), ann, "/daily")  # one try a day: the result again
            assert await replies(api, ann["id"], since=since) == [texts.daily_done(ann_share)]

            # yesterday's button (its data names yesterday: a round left unanswered then), and made-up data
            last = message_id(await daily_photo(api, ann["id"], DAILY_ROUNDS))
            old = api.click(ann, ann["id"], last, daily_answer_data(YESTERDAY, 1, True))
            assert await toast(api, old) == texts.DAILY_OVER
            assert await toast(api, api.click(ann, ann["id"], last, "d:20261399:1:r")) == texts.BUTTON_UNKNOWN

            photos = len(api.calls_to("sendPhoto"))
            api.command(group, bob, "/daily please")  # in a group, arguments or not: the pointer
            assert (await replies(api, GROUP, 2))[1] == texts.DAILY_PRIVATE
            cy = api.user(303, "Cy")
            cy_chat = api.private(cy)
            since = api.last_seq
            api.command(cy_chat, cy, "/daily please")
            assert await replies(api, cy["id"], since=since) == [texts.DAILY_USAGE]
            assert len(api.calls_to("sendPhoto")) == photos  # none of these posted a round

            # a try forgotten (/forgetme) between a round and its click: nothing is recorded
            api.command(cy_chat, cy, "/daily")
            first = message_id(await daily_photo(api, cy["id"], 1))
            api.command(cy_chat, cy, "/forgetme")
            await replies(api, cy["id"], 2, since=since)
            click = api.click(cy, cy["id"], first, daily_answer_data(TODAY, 1, True))
            assert await toast(api, click) == texts.BUTTON_UNKNOWN
            assert api.messages[(cy["id"], first)].get("reply_markup")  # untouched
        finally:
            await bot.close()
        assert not api.breaches


# --- Discord -----------------------------------------------------------------------------------

EPHEMERAL = 1 << 6


def daily_id(day: Any, number: int, guess_real: bool) -> str:
    return f"figment:daily:{round_key(day, number)}:{'r' if guess_real else 'f'}"


async def play_on_discord(fake: FakeDiscord, figment: Figment, member: FakeMember, channel: dict[str, Any],
                          guess_real: bool) -> tuple[list[bytes], str, dict[str, Any]]:
    """One player's whole try, always the same guess, with a double click on round 1:
    (images, finish text, the last round's message)."""
    message = await fake.reply(await fake.slash("daily", member, channel))
    images = []
    for number in range(1, DAILY_ROUNDS + 1):
        assert int(message["flags"]) & EPHEMERAL, "a daily round must be private"
        caption = texts.daily_caption(DAILY_NUMBER, number, DAILY_ROUNDS)
        assert message["content"] == caption
        assert [b["custom_id"] for b in buttons(message)] == [daily_id(TODAY, number, True),
                                                              daily_id(TODAY, number, False)]
        [attachment] = message["attachments"]
        images.append(fake.file_bytes(attachment))
        told = result(number, (await truths(figment))[number - 1], guess_real)
        clicks = [await fake.click(message, daily_id(TODAY, number, guess_real), member)]
        if number == 1:  # a double click: both reach the bot before the buttons go
            clicks.append(await fake.click(message, daily_id(TODAY, number, guess_real), member))
        mid = int(message["id"])
        await fake.wait_for(lambda: fake.messages[mid]["content"] == f"{caption}\n{told}", 10,
                            f"the result of round {number}")
        assert fake.messages[mid]["components"] == [] and int(fake.messages[mid]["flags"]) & EPHEMERAL
        followups = await fake.wait_for(lambda: [fake.messages[i] for c in clicks for i in c.followup_ids]
                                        if sum(len(c.followup_ids) for c in clicks) == len(clicks) else None,
                                        10, f"what follows round {number}")
        notes = [m for m in followups if m["content"] == texts.ANSWER_ALREADY]
        assert len(notes) == len(clicks) - 1  # the second click of the double click: told, nothing recorded
        [after] = [m for m in followups if m not in notes]
        assert all(int(m["flags"]) & EPHEMERAL for m in followups)
        if number < DAILY_ROUNDS:
            message = after
    return images, after["content"], fake.messages[mid]


def yesterdays_round(fake: FakeDiscord, like: dict[str, Any]) -> dict[str, Any]:
    """Yesterday's round 1 as the bot left it in a player's view, never answered: kept by the fake
    like any message, so a click on it reaches the bot as Discord would send it."""
    old = json.loads(json.dumps(like))
    old["id"] = str(snowflake())
    old["components"] = [{"type": 1, "components": [
        {"type": 2, "style": 3, "label": texts.BUTTON_REAL, "custom_id": daily_id(YESTERDAY, 1, True)},
        {"type": 2, "style": 4, "label": texts.BUTTON_FAKE, "custom_id": daily_id(YESTERDAY, 1, False)}]}]
    fake.messages[int(old["id"])] = old
    return old


async def test_the_daily_challenge_on_discord(tmp_path: Path) -> None:
    figment = await Figment.open(make_settings(tmp_path, posted_size=128), DirectSource(DrawnFaceModel()))
    fake = await FakeDiscord().start()
    try:
        await add_real_photos(figment, count=6)
        world = make_world(fake, ["Ann", "Bob"])
        ann, bob = world.members
        async with running_bot(fake, figment):
            # Ann plays in a server channel, Bob in his direct messages with the bot
            (ann_images, ann_done, ann_last), (bob_images, bob_done, _) = await asyncio.gather(
                play_on_discord(fake, figment, ann, world.general, True),
                play_on_discord(fake, figment, bob, fake.add_dm(bob), False))
            assert ann_images == bob_images and len(set(ann_images)) == DAILY_ROUNDS  # the same rounds
            real = await truths(figment)
            ann_share, bob_share = expected_share(real, True), expected_share(real, False)
            check_finish(ann_done, ann_share, ["Ann"])
            check_finish(bob_done, bob_share, ["Bob"])
            assert "Ann: " in bob_done or "Bob: " in ann_done  # whoever finished second sees both
            again = await fake.slash("daily", ann, world.general)
            assert await ephemeral_text(fake, again) == texts.daily_done(ann_share)

            # yesterday's round, left unanswered: its buttons still show in Ann's view
            old = yesterdays_round(fake, ann_last)
            click = await fake.click(old, daily_id(YESTERDAY, 1, True), ann)
            [note] = await fake.wait_for(lambda: click.followup_ids, 10, "the note")
            assert fake.messages[note]["content"] == texts.DAILY_OVER and int(fake.messages[note]["flags"]) & EPHEMERAL
            assert fake.messages[int(old["id"])]["components"]  # nothing changed there

            # a try forgotten (/forgetme) between a round and its click: nothing is recorded
            cy = fake.add_member(world.guild, "Cy")
            first = await fake.reply(await fake.slash("daily", cy, world.general))
            await ephemeral_text(fake, await fake.slash("forgetme", cy, world.general))
            click = await fake.click(first, daily_id(TODAY, 1, True), cy)
            [note] = await fake.wait_for(lambda: click.followup_ids, 10, "the note")
            assert fake.messages[note]["content"] == texts.BUTTON_UNKNOWN
            assert fake.messages[int(first["id"])]["components"]
        assert fake.channel_messages(world.general) == []  # nothing public
        assert all(int(m["flags"]) & EPHEMERAL for m in fake.messages.values())
        assert not fake.breaches
    finally:
        await fake.close()
        await figment.close()


# --- the playground's API ----------------------------------------------------------------------

async def daily_click(client: TestClient, key: Any, guess: Any, name: str, who: str) -> dict[str, Any]:
    response = await client.post("/api/daily", json={"client": who, "name": name, "daily": key, "guess": guess})
    assert response.status == 200
    return await response.json()


async def play_in_the_playground(client: TestClient, figment: Figment, name: str, who: str, guess_real: bool
                                 ) -> tuple[list[bytes], str]:
    _, body = await say(client, "/daily", name, who)
    echo, message = body["messages"]
    assert (echo["kind"], echo["text"], echo["name"]) == ("user", "/daily", name)  # shown to this tab only
    images = []
    for number in range(1, DAILY_ROUNDS + 1):
        caption = texts.daily_caption(DAILY_NUMBER, number, DAILY_ROUNDS)
        key = round_key(TODAY, number)
        assert (message["kind"], message["text"], message["daily"]) == ("daily", caption, key)
        assert [b["guess"] for b in message["buttons"]] == ["real", "fake"] and message["round_id"] is None
        image = await client.get(message["image"])
        assert image.status == 200
        images.append(await image.read())
        told = result(number, (await truths(figment))[number - 1], guess_real)
        body = await daily_click(client, key, "real" if guess_real else "fake", name, who)
        answered, after = body["messages"]
        assert (answered["id"], answered["text"], answered["buttons"]) == (message["id"], f"{caption}\n{told}", [])
        if number == 1:  # a double click
            again = await daily_click(client, key, "fake", name, who)
            assert (again["toast"], again["messages"]) == (texts.ANSWER_ALREADY, [])
        message = after
    return images, message["text"]


async def test_the_daily_challenge_in_the_playground_is_private(app: Figment) -> None:
    await add_real_photos(app, count=6)
    async with TestClient(TestServer(build_app(app))) as client:
        async with events(client, "Cy", "cy-2222-browser") as cy:
            ada_images, ada_done = await play_in_the_playground(client, app, "Ada", ADA, True)
            bob_images, bob_done = await play_in_the_playground(client, app, "Bob", BOB, False)
            assert ada_images == bob_images and len(set(ada_images)) == DAILY_ROUNDS
            real = await truths(app)
            check_finish(ada_done, expected_share(real, True), ["Ada"])
            check_finish(bob_done, expected_share(real, False), ["Ada", "Bob"])
            await say(client, "/help", "Cy", "cy-2222-browser")
            await cy.until(lambda e: e["type"] == "message" and e["message"]["text"] == "/help")
            # the room (every other tab) saw none of it: no round, no result, not even "/daily"
            shown = [e["message"] for e in cy.seen if e["type"] == "message"]
            assert [m["text"] for m in shown if m["kind"] == "user"] == ["/help"]
            assert not [m for m in shown if m["kind"] == "daily" or "Figment daily #" in m["text"]
                        or "Daily #" in m["text"] or m["image"]]

        _, again = await say(client, "/daily", "Ada", ADA)
        assert again["error"] == texts.daily_done(expected_share(real, True)) and again["messages"] == []
        _, usage = await say(client, "/daily please", "Cy", "cy-2222-browser")
        assert usage["error"] == texts.DAILY_USAGE
        old = await daily_click(client, round_key(YESTERDAY, 1), "real", "Ada", ADA)
        assert (old["toast"], old["messages"]) == (texts.DAILY_OVER, [])
        never = await daily_click(client, round_key(TODAY, 1), "real", "Dee", "dee-3333-browser")
        assert never["toast"] == texts.BUTTON_UNKNOWN  # never started: nothing recorded
        for key, guess in (("20261399:1", "real"), ("yesterday", "real"), (round_key(TODAY, 1), "a"), (None, None)):
            assert (await daily_click(client, key, guess, "Ada", ADA))["error"] == texts.WEB_BAD_ANSWER
        assert (await daily_click(client, round_key(TODAY, 1), "real", "", ADA))["error"] == texts.WEB_NEED_NAME


# --- the README ----------------------------------------------------------------------------------

def test_the_readme_shows_a_pair_image_and_a_share_line() -> None:
    readme = (REPO / "README.md").read_text()
    assert "](docs/pair-layout.png)" in readme
    with Image.open(REPO / "docs" / "pair-layout.png") as image:
        assert image.width == 2 * image.height  # two faces side by side
    [line] = [line for line in readme.splitlines() if line.startswith("Figment daily #")]
    match = SHARE.fullmatch(line)
    assert match is not None, line
    number, correct, squares = int(match.group(1)), int(match.group(2)), match.group(3)
    marks = "".join("y" if square == "\U0001F7E9" else "n" for square in squares)
    assert line == texts.daily_share(number, correct, DAILY_ROUNDS, marks) and marks.count("y") == correct
