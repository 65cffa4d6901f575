"""Telegram inline mode end to end: the real PTB Application against the fake Bot API.

An inline page (a challenge and fresh faces), a seeded face, bad queries, the storage chat
missing, and a challenge sent into a chat: three players answer it privately (toasts), its count
and then its reveal are edited in through inline_message_id, and the answers land on the global board.
"""
from __future__ import annotations

import asyncio
from typing import AsyncIterator

import pytest
from sqlalchemy import select
from telegram import Bot, InlineQueryResultArticle
from telegram.error import BadRequest
from telegram.request import HTTPXRequest

from bot import texts
from bot.settings import Settings
from db.models import Player, Round, Score
from db.scopes import ALL_TIME, GLOBAL_SCOPE
from tests.conftest import add_real_photos, make_settings
from tests.telegram_fake import FakeBotApi
from tests.telegram_fake.harness import RunningBot, start_bot, toast

STORAGE = -1009999


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        server.group(STORAGE, "Figment storage", members=2)
        server.enable_inline(feedback=True)
        yield server


async def running(api: FakeBotApi, settings: Settings) -> RunningBot:
    bot = await start_bot(api, settings)
    await add_real_photos(bot.figment, 3)
    return bot


async def inline_answer(api: FakeBotApi, query_id: str) -> dict:  # type: ignore[type-arg]
    [call] = await api.wait_calls("answerInlineQuery", 1, lambda c: c.params["inline_query_id"] == query_id)
    return call.params


async def wait_round(bot: RunningBot, round_id: int, check, timeout: float = 15.0) -> Round:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        async with bot.figment.db.transaction() as session:
            found = await session.get(Round, round_id)
        if found is not None and check(found):
            return found
        assert asyncio.get_running_loop().time() < deadline, f"round {round_id} never got there"
        await asyncio.sleep(0.05)


async def test_inline_page_and_a_challenge_answered_by_three(api: FakeBotApi, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path, telegram_storage_chat=STORAGE, challenge_answers=3, inline_faces=3)
    bot = await running(api, settings)
    try:
        sender = api.user(7, "Sender")
        answer = await inline_answer(api, api.inline_query(sender, ""))
        results = answer["results"]
        assert answer["is_personal"] in (True, "true", "True") and int(answer["cache_time"]) == 0
        assert [r["id"][:2] for r in results] == ["c:", "f:", "f:", "f:"]
        challenge, faces = results[0], results[1:]
        assert all(texts.AI_NOTICE in face["caption"] for face in faces)  # /face's label, on every inline face
        # The sender sees the challenge's image and caption, never its truth.
        assert challenge["caption"] == texts.challenge_caption(0, 0, settings.challenge_seconds, 3)
        round_id = int(challenge["id"][2:])
        assert [b["callback_data"] for b in challenge["reply_markup"]["inline_keyboard"][0]] == \
            [f"c:{round_id}:r", f"c:{round_id}:f"]
        # Photos were uploaded once to the storage chat; the results reuse their file_ids.
        uploads = api.calls_to("sendPhoto")
        assert {int(c.params["chat_id"]) for c in uploads} == {STORAGE} and len(uploads) == 4

        inline_id = api.choose(sender, answer["inline_query_id"], challenge["id"])
        assert inline_id is not None
        stored = await wait_round(bot, round_id, lambda r: r.message_ref is not None)  # the chosen result
        truth = stored.is_real

        ada, bob, cy = api.user(11, "Ada"), api.user(12, "Bob"), api.user(13, "Cy")
        guesses = {11: truth, 12: not truth, 13: truth}
        first = api.click_inline(ada, inline_id, f"c:{round_id}:{'r' if truth else 'f'}")
        assert (await toast(api, first)).startswith("Right")
        await api.wait_calls("editMessageCaption", 1, lambda c: c.params.get("inline_message_id") == inline_id)
        assert "1 answered so far, 100% right" in api.inline_messages[inline_id]["caption"]
        again = api.click_inline(ada, inline_id, f"c:{round_id}:f")
        assert await toast(api, again) == texts.ANSWER_ALREADY
        for user in (bob, cy):
            guess = guesses[user["id"]]
            query = api.click_inline(user, inline_id, f"c:{round_id}:{'r' if guess else 'f'}")
            assert (await toast(api, query)).startswith("Right" if guess == truth else "Wrong")

        # The third answer closes it: the message is edited through inline_message_id to reveal.
        [reveal] = await api.wait_calls("editMessageCaption", 1, lambda c: str(c.params.get("caption", ""))
                                        .startswith("Challenge over"))
        assert reveal.params["inline_message_id"] == inline_id and "chat_id" not in reveal.params
        assert reveal.result is True  # an inline message's edit answers True
        assert "2 of 3 got it right" in reveal.params["caption"]
        assert not api.inline_messages[inline_id].get("reply_markup")  # no more buttons
        await wait_round(bot, round_id, lambda r: r.revealed_at is not None)
        async with bot.figment.db.transaction() as session:
            board = (await session.execute(
                select(Player.platform_user_id, Score.answers, Score.correct).join(Player, Player.id == Score.player_id)
                .where(Score.scope == GLOBAL_SCOPE, Score.period == ALL_TIME))).all()
        assert sorted(board) == [("11", 1, 1), ("12", 1, 0), ("13", 1, 1)]  # once per person, on the global board
        assert not api.breaches
    finally:
        await bot.close()


async def test_seeded_face_and_bad_queries(api: FakeBotApi, tmp_path) -> None:  # type: ignore[no-untyped-def]
    bot = await running(api, make_settings(tmp_path, telegram_storage_chat=STORAGE))
    try:
        user = api.user(7, "Sender")
        seeded = await inline_answer(api, api.inline_query(user, "42 0.5"))
        [face] = seeded["results"]
        assert face["id"] == "f:42:0.5" and "seed 42" in face["caption"] and texts.AI_NOTICE in face["caption"]
        assert int(seeded["cache_time"]) > 0  # a seed's face never changes
        for text in ("abc", "1 0.5 9", "42 7"):
            [result] = (await inline_answer(api, api.inline_query(user, text)))["results"]
            assert result["type"] == "article" and result["input_message_content"]["message_text"]
        [usage] = (await inline_answer(api, api.inline_query(user, "1 0.5 9")))["results"]
        assert usage["input_message_content"]["message_text"] == texts.FACE_USAGE
        assert not api.breaches and not [c for c in api.calls if c.outcome == "error"]
    finally:
        await bot.close()


async def test_without_a_storage_chat_the_answer_says_how(api: FakeBotApi, tmp_path) -> None:  # type: ignore[no-untyped-def]
    bot = await running(api, make_settings(tmp_path))
    try:
        [result] = (await inline_answer(api, api.inline_query(api.user(7, "Sender"), "")))["results"]
        assert result["input_message_content"]["message_text"] == texts.INLINE_SETUP
        assert "FIGMENT_TELEGRAM_STORAGE_CHAT" in texts.INLINE_SETUP
        assert not api.calls_to("sendPhoto")
    finally:
        await bot.close()


async def test_challenge_closes_on_time_without_inline_feedback(api: FakeBotApi, tmp_path) -> None:  # type: ignore[no-untyped-def]
    api.enable_inline(feedback=False)  # no chosen_inline_result: the first click tells where it is
    bot = await running(api, make_settings(tmp_path, telegram_storage_chat=STORAGE, challenge_seconds=3))
    try:
        user = api.user(7, "Sender")
        answer = await inline_answer(api, api.inline_query(user, "challenge"))
        [challenge] = answer["results"]
        inline_id = api.choose(user, answer["inline_query_id"], challenge["id"])
        assert inline_id is not None and not api.calls_to("editMessageCaption")
        # A clicker whose Telegram speaks Spanish gets their private answer (the toast) in Spanish.
        ana = api.user(11, "Ana", language_code="es")
        is_real = (await wait_round(bot, int(challenge["id"][2:]), lambda r: True)).is_real  # no feedback: no ref yet
        said = await toast(api, api.click_inline(ana, inline_id, f"{challenge['id']}:r"))
        assert said == texts.lang("es").challenge_answer(is_real, is_real)
        assert said != texts.challenge_answer(is_real, is_real)  # holds once the catalogue translates it
        [reveal] = await api.wait_calls("editMessageCaption", 1, lambda c: str(c.params.get("caption", ""))
                                        .startswith("Challenge over"), timeout=20)
        assert reveal.params["inline_message_id"] == inline_id
        assert any(share in reveal.params["caption"] for share in ("1 of 1", "0 of 1"))
    finally:
        await bot.close()


async def test_the_fake_keeps_the_inline_limits(api: FakeBotApi) -> None:
    """answerInlineQuery's limits and inline_message_id edits, as the Bot API documents them."""
    bot = Bot(api.token, base_url=api.base_url, request=HTTPXRequest())
    async with bot:
        user = api.user(7, "Sender")
        too_many = [InlineQueryResultArticle(str(n), "t", {"message_text": "x"}) for n in range(51)]  # type: ignore[arg-type]
        query = api.inline_query(user, "")
        with pytest.raises(BadRequest, match="(?i)results_too_much"):
            await bot.answer_inline_query(query, too_many[:51])
        with pytest.raises(BadRequest, match="(?i)result_id_invalid"):
            await bot.answer_inline_query(query, [InlineQueryResultArticle("x" * 65, "t", {"message_text": "x"})])  # type: ignore[arg-type]
        await bot.answer_inline_query(query, [InlineQueryResultArticle("ok", "t", {"message_text": "x"})],  # type: ignore[list-item]
                                      cache_time=0, is_personal=True)
        with pytest.raises(BadRequest, match="(?i)too old"):  # a query is answered once
            await bot.answer_inline_query(query, [])
        with pytest.raises(BadRequest, match="(?i)can.t be used together"):
            await bot._post("editMessageText", {"chat_id": 1, "message_id": 1, "inline_message_id": "x",
                                                "text": "y"})
    assert api.breaches["inline results"] == 1 and api.breaches["inline result id"] == 1


async def test_webhook_mode_serves_inline_photos_from_the_bots_own_https_address(api: FakeBotApi, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import aiohttp

    from tests.test_metrics import free_port

    port, public = free_port(), "https://figment.example.org"
    api.sender.fronts[public] = f"http://127.0.0.1:{port}"  # the operator's TLS front
    bot = await start_bot(api, make_settings(tmp_path), webhook_url=f"{public}/telegram/hook",
                          webhook_listen="127.0.0.1", webhook_port=port)
    await add_real_photos(bot.figment, 3)
    try:
        answer = await inline_answer(api, api.inline_query(api.user(7, "Sender"), ""))
        results = answer["results"]
        assert [r["type"] for r in results] == ["photo"] * (1 + bot.figment.settings.inline_faces)
        assert all(r["photo_url"].startswith(f"{public}/figment-inline/") for r in results)
        assert not api.calls_to("sendPhoto")  # nothing uploaded anywhere
        async with aiohttp.ClientSession() as session:  # what Telegram fetches: JPEG, as the Bot API asks
            for result in results:
                async with session.get(api.sender.reach(result["photo_url"])) as reply:
                    assert reply.status == 200 and (await reply.read())[:2] == b"\xff\xd8"
            async with session.get(api.sender.reach(f"{public}/figment-inline/guess.jpg")) as reply:
                assert reply.status == 404
        inline_id = api.choose(api.user(7, "Sender"), answer["inline_query_id"], results[0]["id"])
        assert inline_id is not None
        assert (await toast(api, api.click_inline(api.user(11, "Ada"), inline_id, f"{results[0]['id']}:r")))
    finally:
        await bot.close()
