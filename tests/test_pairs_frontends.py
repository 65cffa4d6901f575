"""A pair game end to end on the fake Telegram and Discord servers, with the real clients:
the image, the buttons, wrong buttons, bad counts, the reveal and the pairs board."""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from PIL import Image

from bot import texts
from bot.app import Figment
from bot.boards import BOARD_USAGE
from bot.quiz.pair_image import pair_length
from generator.serving.direct import DirectSource
from tests.conftest import add_real_photos, make_settings
from tests.discord_fake import FakeDiscord
from tests.discord_fake.harness import buttons, ephemeral_text, make_world, running_bot
from tests.fakes import DrawnFaceModel
from tests.telegram_fake import FakeBotApi
from tests.telegram_fake.harness import Call, message_id, replies, start_bot, toast
from tests.telegram_fake.harness import buttons as telegram_buttons

GROUP = -1009876543210


def pair_posts(api: FakeBotApi, count: int) -> Any:
    """The calls that gave pair rounds their buttons (their result is the round's message)."""
    return api.wait_calls("editMessageReplyMarkup", count,
                          lambda c: any(d.startswith("p:") for d in telegram_buttons(c)), timeout=20)


def check_pair_file(data: bytes, size: int) -> None:
    assert len(data) == pair_length(size)
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (2 * size, size) and image.format == "JPEG"
        assert set(image.info) <= {"jfif", "jfif_version", "jfif_unit", "jfif_density"}


async def test_a_pair_game_on_telegram(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, posted_size=128)
    async with FakeBotApi() as api:
        bot = await start_bot(api, settings)
        try:
            await add_real_photos(bot.figment)
            ann, bob = api.user(201, "Ann"), api.user(202, "Bob")
            chat = api.group(GROUP, "Pairs club", members=3, owner=ann["id"])  # 2 humans and the bot
            sides = [True, False]
            bot.figment.quiz.choose_real = iter(sides).__next__
            for number, bad in enumerate(("/quiz pairs 0", "/quiz pairs 999"), 1):
                api.command(chat, ann, bad)
                assert (await replies(api, GROUP, number))[-1] == texts.bad_rounds(20)
            api.command(chat, ann, "/quiz pairs 2")
            for number in (1, 2):
                post: Call = (await pair_posts(api, number))[-1]
                mid = message_id(post)
                rid = int(telegram_buttons(post)[0].split(":")[1])
                assert telegram_buttons(post) == [f"p:{rid}:a", f"p:{rid}:b"]  # the round, never the truth
                [photo] = [c for c in api.calls_to("sendPhoto") if message_id(c) == mid]
                assert photo.params["caption"] == texts.pair_caption(number, 2, settings.round_seconds)
                check_pair_file(photo.files["photo"].data, 128)
                # a single round's button data on a pair round: refused, nothing recorded
                assert await toast(api, api.click(ann, GROUP, mid, f"a:{rid}:r")) == texts.ANSWER_WRONG_KIND
                assert await toast(api, api.click(ann, GROUP, mid, f"p:{rid}:a")) == texts.ANSWER_RECORDED
                assert await toast(api, api.click(bob, GROUP, mid, f"p:{rid}:b")) == texts.ANSWER_RECORDED
                [reveal] = await api.wait_calls("editMessageCaption", 1, lambda c: int(c.params["message_id"]) == mid)
                caption = reveal.params["caption"]
                assert caption.startswith(f"Round {number}/2: {texts.pair_truth(sides[number - 1])}.")
                assert "1 of 2 got it right" in caption and "Tip: " in caption
            summary = (await replies(api, GROUP, 3))[-1]
            assert summary.startswith("Game over! 2 rounds played.") and "This chat's pairs board" in summary

            since = api.last_seq
            api.command(chat, bob, "/leaderboard pairs")
            [board] = await replies(api, GROUP, since=since)
            assert board.startswith("This chat's pairs board") and "Bob: 50% of 2 answers" in board
            api.command(chat, bob, "/leaderboard pears")
            [usage] = await replies(api, GROUP, since=api.last_seq)
            assert usage == BOARD_USAGE
            api.command(chat, bob, "/stats")
            [stats] = await replies(api, GROUP, since=api.last_seq)
            assert "Pairs in this chat: 1/2 right" in stats and "\nIn this chat:" not in stats

            # a pair button on a single round
            bot.figment.quiz.choose_real = lambda: True
            api.command(chat, ann, "/quiz 1")
            [single] = await api.wait_calls("editMessageReplyMarkup", 1,
                                            lambda c: any(d.startswith("a:") for d in telegram_buttons(c)), timeout=20)
            rid = int(telegram_buttons(single)[0].split(":")[1])
            wrong = api.click(bob, GROUP, message_id(single), f"p:{rid}:a")
            assert await toast(api, wrong) == texts.ANSWER_WRONG_KIND
            api.command(chat, ann, "/stop")
            stopped = (await replies(api, GROUP, since=api.last_seq))[-1]
            assert stopped.startswith("Game stopped. 1 round played.")
        finally:
            await bot.close()
        assert not api.breaches


async def test_a_pair_game_on_discord(tmp_path: Path) -> None:
    figment = await Figment.open(make_settings(tmp_path, posted_size=128), DirectSource(DrawnFaceModel()))
    fake = await FakeDiscord().start()
    try:
        await add_real_photos(figment)
        world = make_world(fake, ["Ann", "Bob", "Cy"])
        ann, bob = world.members[0], world.members[1]
        sides = [False, True]
        figment.quiz.choose_real = iter(sides).__next__
        async with running_bot(fake, figment):
            assert await ephemeral_text(fake, await fake.slash("quiz", ann, world.general, rounds=0, mode="pairs")) \
                == texts.bad_rounds(20)
            assert await ephemeral_text(fake, await fake.slash("quiz", ann, world.general, rounds=99, mode="pairs")) \
                == texts.bad_rounds(20)
            start = await fake.slash("quiz", ann, world.general, rounds=2, mode="pairs")
            assert (await fake.reply(start))["content"] == texts.DISCORD_QUIZ_STARTED
            for number in (1, 2):
                await fake.wait_for(lambda: len(fake.channel_messages(world.general)) >= number, 20, f"round {number}")
                message = fake.channel_messages(world.general)[number - 1]
                rid = int(buttons(message)[0]["custom_id"].split(":")[2])
                assert [b["custom_id"] for b in buttons(message)] == [f"figment:pair:{rid}:a", f"figment:pair:{rid}:b"]
                assert [b["label"] for b in buttons(message)] == [texts.BUTTON_A_REAL, texts.BUTTON_B_REAL]
                assert len({b["style"] for b in buttons(message)}) == 1  # neither button looks "right"
                assert message["content"] == texts.pair_caption(number, 2, 2)
                [attachment] = message["attachments"]
                check_pair_file(fake.file_bytes(attachment), 128)
                for member, side in ((ann, "a"), (bob, "b")):
                    click = await fake.click(message, f"figment:pair:{rid}:{side}", member)
                    assert await ephemeral_text(fake, click) == texts.ANSWER_RECORDED
                truth = texts.pair_truth(sides[number - 1])
                await fake.wait_for(lambda: truth in fake.messages[int(message["id"])]["content"], 10, "the reveal")
                shown = fake.messages[int(message["id"])]
                assert all(b["disabled"] for b in buttons(shown)) and "Tip: " in shown["content"]
            summary = (await fake.wait_for(
                lambda: [m for m in fake.channel_messages(world.general) if m["content"].startswith("Game over!")],
                10, "the summary"))[0]["content"]
            assert "This chat's pairs board" in summary
            board = await fake.reply(await fake.slash("leaderboard", bob, world.general, mode="pairs"))
            assert board["content"].startswith("This chat's pairs board") and "Bob: 50% of 2 answers" in board["content"]
            single_board = await fake.reply(await fake.slash("leaderboard", bob, world.general))
            assert "nobody is ranked" in single_board["content"]
        assert not fake.breaches
    finally:
        await fake.close()
        await figment.close()
