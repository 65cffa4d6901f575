"""The Telegram front-end end to end: the real PTB Application against a local fake Bot API.

Each test runs the bot's serve() on a real SQLite file, plays users through the fake server
(commands, button clicks) and checks what the bot sent back and what the database holds.
"""
from __future__ import annotations

import asyncio
import io
from typing import AsyncIterator

import pytest
from PIL import Image

from bot import texts
from bot.app import Figment
from bot.boards import BOARD_USAGE
from bot.settings import Settings
from bot.telegram_app import TelegramStartError, options_from_settings, serve
from generator.serving.direct import DirectSource
from tests.conftest import add_real_photos, make_settings
from tests.fakes import DrawnFaceModel
from tests.hall_data import face_round
from tests.telegram_fake import FakeBotApi
from tests.telegram_fake.harness import (RunningBot, buttons, message_id, recorded_answers, replies, round_id,
                                         round_posts, start_bot, toast)

GROUP = -1001234567890
WEIRD = "<b>*_[x](y)"  # a name that breaks any unescaped HTML or Markdown


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        yield server


@pytest.fixture
def settings(tmp_path) -> Settings:  # type: ignore[no-untyped-def]
    return make_settings(tmp_path, round_seconds=2)


@pytest.fixture
async def bot(api: FakeBotApi, settings: Settings) -> AsyncIterator[RunningBot]:
    running = await start_bot(api, settings)
    yield running
    await running.close()


def players(api: FakeBotApi, count: int) -> list[dict]:  # type: ignore[type-arg]
    names = [WEIRD, "Ada", "Grace", "Linus", "Margaret", "Ken"]
    return [api.user(101 + n, names[n], last_name="Q" if n == 2 else None) for n in range(count)]


async def test_commands_are_registered_and_help_answers(api: FakeBotApi, bot: RunningBot) -> None:
    [call] = [c for c in api.calls_to("setMyCommands") if "language_code" not in c.params]  # English: for all
    assert [c["command"] for c in call.params["commands"]] == [
        "start", "help", "face", "morph", "quiz", "daily", "stop", "tips", "leaderboard", "stats", "hall", "forgetme",
        "settings", "check"]
    user = api.user(5, "Alice")
    chat = api.private(user)
    api.command(chat, user, "/help")
    assert await replies(api, chat["id"]) == [texts.HELP]
    api.command(chat, user, "/start@figment_test_bot")
    assert (await replies(api, chat["id"], 2))[1] == texts.START
    assert all("parse_mode" not in c.params for c in api.calls_to("sendMessage"))


async def test_face_with_and_without_seed(api: FakeBotApi, bot: RunningBot, settings: Settings) -> None:
    user = api.user(5, "Alice")
    chat = api.private(user)
    api.command(chat, user, "/face 42 0.5")
    [seeded] = await api.wait_calls("sendPhoto")
    image = Image.open(io.BytesIO(seeded.files["photo"].data))
    assert image.size == (settings.posted_size, settings.posted_size)
    assert "seed 42" in seeded.params["caption"] and "psi 0.5" in seeded.params["caption"]
    assert texts.AI_NOTICE in seeded.params["caption"]
    assert buttons(seeded) == ["face:another"]

    api.command(chat, user, "/face")
    random_face = (await api.wait_calls("sendPhoto", 2))[1]
    Image.open(io.BytesIO(random_face.files["photo"].data)).verify()
    assert "seed " in random_face.params["caption"]

    api.command(chat, user, "/face 42 0.5")  # the same seed draws the same face
    again = (await api.wait_calls("sendPhoto", 3))[2]
    assert again.files["photo"].data == seeded.files["photo"].data

    query = api.click(user, chat["id"], message_id(seeded), "face:another")
    assert await toast(api, query) is None
    another = (await api.wait_calls("sendPhoto", 4))[3]
    Image.open(io.BytesIO(another.files["photo"].data)).verify()


async def test_bad_arguments_get_friendly_replies(api: FakeBotApi, bot: RunningBot) -> None:
    user = api.user(5, "Alice")
    chat = api.private(user)
    cases = [("/face banana", texts.BAD_SEED), ("/face 1 9", texts.BAD_PSI), ("/face 1 2 3", texts.FACE_USAGE),
             ("/quiz -3", texts.bad_rounds(bot.figment.settings.max_rounds_per_game)),
             ("/quiz 5", texts.NO_PHOTOS), ("/leaderboard banana", BOARD_USAGE), ("/stop", texts.NO_GAME)]
    for number, (command, expected) in enumerate(cases, 1):
        api.command(chat, user, command)
        assert (await replies(api, chat["id"], number))[-1] == expected, command
    assert not api.calls_to("sendPhoto")


async def test_full_game_in_a_group(api: FakeBotApi, bot: RunningBot) -> None:
    await add_real_photos(bot.figment)
    people = players(api, 5)
    chat = api.group(GROUP, "Fakes & friends", members=6, owner=people[1]["id"])  # 5 humans and the bot
    truths = [True, False, True]
    bot.figment.quiz.choose_real = iter(truths).__next__
    api.command(chat, people[0], "/quiz 3")
    late_query = None
    for number in range(1, 4):
        post = (await round_posts(api, number, GROUP))[-1]
        rid, mid = round_id(post), message_id(post)
        [photo] = [c for c in api.calls_to("sendPhoto") if int(c.params["chat_id"]) == GROUP and message_id(c) == mid]
        assert photo.params["caption"] == texts.round_caption(number, 3, 2)
        assert "reply_markup" not in photo.params  # the buttons come once the photo is confirmed
        Image.open(io.BytesIO(photo.files["photo"].data)).verify()
        assert buttons(post) == [f"a:{rid}:r", f"a:{rid}:f"]  # the round, never the truth
        # player 0 answers, then tries again with the other button
        assert await toast(api, api.click(people[0], GROUP, mid, f"a:{rid}:r")) == texts.ANSWER_RECORDED
        assert await toast(api, api.click(people[0], GROUP, mid, f"a:{rid}:f")) == texts.ANSWER_ALREADY
        answering = people[1:] if number < 3 else people[1:4]  # in round 3 one player is late
        for person in answering:
            assert await toast(api, api.click(person, GROUP, mid, f"a:{rid}:f")) == texts.ANSWER_RECORDED
        # rounds 1 and 2 close at once (all 5 answered); round 3 on time
        [reveal] = await api.wait_calls("editMessageCaption", 1, lambda c: int(c.params["message_id"]) == mid)
        assert "reply_markup" not in reveal.params  # an edit without a keyboard removes the buttons
        assert "reply_markup" not in api.messages[(GROUP, mid)]
        caption = reveal.params["caption"]
        real = truths[number - 1]
        assert caption.startswith(f"Round {number}/3: it was {'a REAL photo' if real else 'an AI FAKE'}")
        answered = len(answering) + 1  # player 0 said real, the others fake
        right = 1 if real else answered - 1
        assert f"{right} of {answered} got it right" in caption
        assert ("'test-pack' pack" in caption) == real and ("model test-drawn-1" in caption) == (not real)
        if number == 1:  # the same button data from another chat (a forwarded round) counts nowhere
            outsider = api.user(999, "Outsider")
            dm = api.private(outsider)
            api.command(dm, outsider, "/help")
            [help_reply] = await api.wait_calls("sendMessage", 1, lambda c: int(c.params["chat_id"]) == dm["id"])
            forged = api.click(outsider, dm["id"], message_id(help_reply), f"a:{rid}:r")
            assert await toast(api, forged) == texts.ANSWER_UNKNOWN
        if number == 3:
            late_query = api.click(people[4], GROUP, mid, f"a:{rid}:r")
    assert await toast(api, late_query) == texts.ANSWER_CLOSED  # type: ignore[arg-type]

    [summary] = await replies(api, GROUP)
    assert summary.startswith("Game over! 3 rounds played.")
    assert f"1. {WEIRD}: 2/3 right" in summary  # the name exactly as typed, at the top
    assert "Margaret: 1/2 right" in summary and "Grace Q: 1/3 right" in summary
    assert all("parse_mode" not in c.params for c in api.calls if c.method.startswith(("send", "edit")))
    answers = await recorded_answers(bot.figment)
    assert len(answers) == 14 and len(set(answers)) == 14

    since = api.last_seq
    api.command(chat, people[2], "/leaderboard")
    [board] = await replies(api, GROUP, since=since)
    assert board.startswith("This chat's board, all time")
    assert f"{WEIRD}: " in board and "Grace Q" in board
    api.command(chat, people[0], "/stats")
    [stats] = await replies(api, GROUP, since=api.last_seq)
    assert stats.startswith(f"Stats for {WEIRD}:") and "In this chat: " in stats


async def test_private_game_closes_after_the_one_answer(api: FakeBotApi, settings: Settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    running = await start_bot(api, make_settings(tmp_path, round_seconds=60))
    try:
        await add_real_photos(running.figment)
        user = api.user(7, "Solo")
        chat = api.private(user)
        api.command(chat, user, "/quiz 1")
        [post] = await round_posts(api, 1, chat["id"])
        api.click(user, chat["id"], message_id(post), f"a:{round_id(post)}:r")
        await api.wait_calls("editMessageCaption", timeout=5)  # long before the 60 s are up
        [summary] = await replies(api, chat["id"])
        assert "1. Solo: " in summary
        assert not api.calls_to("getChatMemberCount")
    finally:
        await running.close()


async def test_settings_need_a_chat_admin(api: FakeBotApi, bot: RunningBot) -> None:
    owner, member = api.user(1, "Owner"), api.user(2, "Member")
    chat = api.group(GROUP, "Group", members=3, owner=owner["id"])
    api.command(chat, member, "/settings seconds 30")
    [refused] = await replies(api, GROUP)
    assert refused == texts.NOT_ADMIN
    [check] = api.calls_to("getChatMember")
    assert int(check.params["user_id"]) == member["id"] and int(check.params["chat_id"]) == GROUP

    api.command(chat, member, "/settings")  # looking is for everyone, and needs no admin check
    assert (await replies(api, GROUP, 2))[1].startswith("Settings: rounds last 2 s")
    assert len(api.calls_to("getChatMember")) == 1

    api.command(chat, owner, "/settings seconds 30")
    assert (await replies(api, GROUP, 3))[2].startswith("Settings: rounds last 30 s")
    api.command(chat, owner, "/settings seconds 1")
    assert (await replies(api, GROUP, 4))[3] == texts.settings_bad(5, 600, "round length in seconds")
    api.command(chat, owner, "/settings seconds 30 please")
    assert (await replies(api, GROUP, 5))[4] == texts.SETTINGS_USAGE
    # replies in a group quote the command they answer
    assert all("reply_parameters" in c.params for c in api.calls_to("sendMessage"))


async def test_forget_me(api: FakeBotApi, bot: RunningBot) -> None:
    user = api.user(5, "Alice")
    chat = api.private(user)
    api.command(chat, user, "/forgetme")
    assert await replies(api, chat["id"]) == [texts.FORGOTTEN_NOTHING]


async def test_hall_of_fakes(api: FakeBotApi, bot: RunningBot) -> None:
    user = api.user(5, "Alice")
    chat = api.private(user)
    api.command(chat, user, "/hall")
    assert await replies(api, chat["id"]) == [texts.hall_empty("week", 10)]
    await face_round(bot.figment, 77, fooled=9, answers=10)
    await face_round(bot.figment, 78, fooled=10, answers=10, reveal=False)  # open: never in the hall
    api.command(chat, user, "/hall all")
    text = (await replies(api, chat["id"], 2))[1]
    assert text.startswith("Hall of fakes, all time") and "1. fooled 9 of 10 (90%) · seed 77" in text
    assert "seed 78" not in text
    [photo] = await api.wait_calls("sendPhoto")
    assert photo.params["caption"] == texts.HALL_CAPTION
    assert "does not exist" in Image.open(io.BytesIO(photo.files["photo"].data)).text["Description"]
    api.command(chat, user, "/hall forever")
    assert (await replies(api, chat["id"], 3))[2] == texts.HALL_USAGE


async def test_odd_buttons_get_a_toast(api: FakeBotApi, bot: RunningBot) -> None:
    user = api.user(5, "Alice")
    chat = api.private(user)
    api.command(chat, user, "/help")
    [help_call] = await api.wait_calls("sendMessage")
    mid = message_id(help_call)
    assert await toast(api, api.click(user, chat["id"], mid, "a:999999:r")) == texts.ANSWER_UNKNOWN
    for data in ("a:1:x", "a:one:r", "a:1:r:extra", "something"):
        assert await toast(api, api.click(user, chat["id"], mid, data)) == texts.BUTTON_UNKNOWN, data
    assert await recorded_answers(bot.figment) == []


async def test_a_refused_token_stops_with_a_clear_error(api: FakeBotApi, settings: Settings) -> None:
    figment = await Figment.open(settings, DirectSource(DrawnFaceModel()))
    try:
        with pytest.raises(TelegramStartError, match="refused the bot token") as refused:
            await serve(figment, "999:not-the-token", asyncio.Event(), base_url=api.base_url)
        assert "not-the-token" not in str(refused.value)
        # the bot's HTTP client was closed: its keep-alive connection to the fake is gone
        server = api._runner.server  # type: ignore[union-attr]
        for _ in range(100):
            if not server.connections:
                break
            await asyncio.sleep(0.02)
        assert not server.connections
    finally:
        await figment.close()


def test_options_come_from_settings(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert options_from_settings(make_settings(tmp_path)) == {}
    options = options_from_settings(make_settings(
        tmp_path, telegram_webhook_url="https://bot.example.org/tg", telegram_webhook_port=8080,
        telegram_webhook_secret="abc", telegram_api_url="http://localhost:8081/bot"))
    assert options == {"base_url": "http://localhost:8081/bot", "webhook_url": "https://bot.example.org/tg",
                       "webhook_listen": "0.0.0.0", "webhook_port": 8080, "webhook_secret": "abc"}


def test_the_default_webhook_secret_is_the_same_in_every_worker() -> None:
    import re

    from bot.telegram_app.webhook import default_secret

    token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
    secret = default_secret(token)
    assert secret == default_secret(token) != default_secret(token + "x")  # every worker of one bot agrees
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret)  # what Telegram accepts as secret_token
    assert token.split(":")[1] not in secret


async def test_a_board_longer_than_a_message_comes_in_pieces(api: FakeBotApi, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from bot.quiz.recorder import AnswerRecorder
    from bot.refs import PlayerRef
    from db.games import add_generated_face, add_round, close_round, start_game
    from db.models import utcnow
    from db.people import get_or_create_chat
    from db.scoring import reveal_and_score

    settings = make_settings(tmp_path, board_size=50)
    running = await start_bot(api, settings)
    try:
        group = api.group(GROUP, "Crowded", members=60)
        async with running.figment.db.transaction() as session:  # 50 ranked players with long names
            chat = await get_or_create_chat(session, "telegram", str(GROUP))
            game = await start_game(session, chat.id, None, 1, 60)
            face = await add_generated_face(session, 1, 0.7, "v1")
            round_id = (await add_round(session, game, 1, is_real=False, generated_face_id=face.id,
                                        closes_at=utcnow() + timedelta(minutes=5))).id
        recorder = AnswerRecorder(running.figment.db)
        names = [f"Player {n:02d} " + "x" * 100 for n in range(50)]
        for n, name in enumerate(names):
            await recorder.record(round_id, PlayerRef("telegram", str(1000 + n), name), n % 2 == 1)
        async with running.figment.db.transaction() as session:  # scores move at the reveal
            await close_round(session, round_id)
            await reveal_and_score(session, round_id)
        api.command(group, api.user(7, "Asker"), "/leaderboard")
        def sent() -> list[str]:
            return [str(c.params["text"]) for c in api.calls_to("sendMessage") if int(c.params["chat_id"]) == GROUP]

        async with asyncio.timeout(15):  # every piece of the one reply arrives
            while not all(name in "\n".join(sent()) for name in names):
                await asyncio.sleep(0.05)
        assert len(sent()) >= 2 and all(len(text) <= 4096 for text in sent())
    finally:
        await running.close()
