"""The Telegram front-end through trouble: faults from the Bot API, re-delivered updates, a
restart in the middle of a round, and webhook mode. The bot must keep running, and every answer
given must be stored exactly once."""
from __future__ import annotations

import asyncio
import socket
from collections import Counter
from typing import AsyncIterator

import aiohttp
import pytest

from bot import texts
from bot.telegram_app import TelegramStartError
from bot.telegram_app.webhook import SECRET_HEADER
from tests.conftest import add_real_photos, make_settings
from tests.telegram_fake import FakeBotApi
from tests.telegram_fake.harness import (live_round_messages, message_id, recorded_answers, replies, round_id,
                                         round_posts, start_bot, toast)

GROUP = -1009876543210


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        yield server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_faults_keep_the_bot_running_and_every_answer_counts_once(api: FakeBotApi, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Long rounds: they close early once the 3 players have answered, so no answer can be late.
    bot = await start_bot(api, make_settings(tmp_path, round_seconds=30))
    try:
        await add_real_photos(bot.figment)
        people = [api.user(201 + n, name) for n, name in enumerate(["Ann", "Bo", "Cy"])]
        chat = api.group(GROUP, "Flaky", members=4)
        api.fault("sendPhoto", "500")  # the first round's post fails twice before it goes through
        api.fault("sendPhoto", "drop")
        api.fault("getUpdates", "drop")  # polling: a dropped connection, a 500, a 429, a slow reply
        api.fault("getUpdates", "500")
        api.fault("getUpdates", "429", retry_after=1)
        api.fault("getUpdates", "slow", delay=1.0)
        api.fault("answerCallbackQuery", "429", retry_after=1)  # toasts: every kind of trouble
        api.fault("answerCallbackQuery", "500")
        api.fault("answerCallbackQuery", "drop")
        api.fault("answerCallbackQuery", "drop_after")  # shown, but the bot never hears so
        api.fault("answerCallbackQuery", "slow", delay=1.0)
        api.fault("editMessageCaption", "drop_after")  # the reveal went through; its retry is "not modified"
        api.fault("editMessageCaption", "slow", delay=1.0)
        api.fault("sendMessage", "429", retry_after=1)  # the summary
        api.command(chat, people[0], "/quiz 2")

        clicks: list[tuple[str, int, str]] = []  # (query id, round id, user id)
        for number in (1, 2):
            post = (await round_posts(api, number, GROUP))[-1]
            rid, mid = round_id(post), message_id(post)
            for person in people:
                clicks.append((api.click(person, GROUP, mid, f"a:{rid}:r"), rid, str(person["id"])))
            clicks.append((api.click(people[0], GROUP, mid, f"a:{rid}:f"), rid, str(people[0]["id"])))  # twice
            if number == 1:  # Telegram sends the confirmed clicks again
                api.fault("getUpdates", "redeliver", redeliver=4)
            await api.wait_calls("editMessageCaption", 1, lambda c: int(c.params["message_id"]) == mid)
        [summary] = await replies(api, GROUP)
        assert summary.startswith("Game over! 2 rounds played.")

        toasts = [await toast(api, query) for query, _, _ in clicks]
        assert toasts.count(texts.ANSWER_RECORDED) == 6 and toasts.count(texts.ANSWER_ALREADY) == 2
        answered = Counter(c.params["callback_query_id"] for c in api.calls_to("answerCallbackQuery"))
        assert set(answered) == {query for query, _, _ in clicks} and set(answered.values()) == {1}
        answers = await recorded_answers(bot.figment)
        assert sorted(answers) == sorted({(rid, user) for _, rid, user in clicks})  # each once, none lost

        since = api.last_seq
        api.command(chat, people[1], "/help")  # still running
        assert await replies(api, GROUP, since=since) == [texts.HELP]
        outcomes = {(c.method, c.outcome) for c in api.calls}
        for fault in [("sendPhoto", "500"), ("sendPhoto", "drop"), ("getUpdates", "drop"), ("getUpdates", "500"),
                      ("getUpdates", "429"), ("getUpdates", "slow"), ("answerCallbackQuery", "429"),
                      ("answerCallbackQuery", "drop_after"), ("editMessageCaption", "drop_after"),
                      ("sendMessage", "429")]:
            assert fault in outcomes  # each fault was really met
    finally:
        await bot.close()
    assert len(api.calls_to("sendPhoto")) == 2  # one post per round, no duplicates
    assert len(api.calls_to("editMessageCaption")) == 2
    assert len(api.calls_to("sendMessage")) == 2  # the summary and the /help reply


async def test_a_timed_out_round_post_is_never_posted_twice(api: FakeBotApi, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Telegram takes the photo, but its reply comes after the bot stopped waiting (PTB's 5 s read
    timeout): the round may be on screen, so it is not sent again, and it has no live buttons."""
    bot = await start_bot(api, make_settings(tmp_path, round_seconds=3))
    try:
        await add_real_photos(bot.figment)
        user = api.user(401, "Gus")
        chat = api.group(GROUP, "Slow line", members=3)
        api.fault("sendPhoto", "late_reply", delay=8)
        api.command(chat, user, "/quiz 2")
        [summary] = await replies(api, GROUP, timeout=30)
        assert summary.startswith("Game stopped.") and texts.ROUND_NOT_POSTED in summary
        photos = [c for c in api.calls_to("sendPhoto") if int(c.params["chat_id"]) == GROUP]
        assert [c.outcome for c in photos] == ["late_reply"]  # sent once, never again
        assert live_round_messages(api, GROUP) == []
        since = api.last_seq
        api.command(chat, user, "/help")  # the bot goes on
        assert await replies(api, GROUP, since=since) == [texts.HELP]
    finally:
        await bot.close()


async def test_redelivered_updates_change_nothing(api: FakeBotApi, tmp_path) -> None:  # type: ignore[no-untyped-def]
    bot = await start_bot(api, make_settings(tmp_path))
    user = api.user(5, "Alice")
    chat = api.private(user)
    try:
        api.command(chat, user, "/face 7")
        await api.wait_calls("sendPhoto")
        api.fault("getUpdates", "redeliver", redeliver=2)  # the next poll brings /face 7 and /help again
        api.command(chat, user, "/help")
        await api.wait_calls("getUpdates", 1, lambda c: c.outcome == "ok" and len(c.result) == 2)
    finally:
        await bot.close()  # waits for every update in hand to be handled
    assert len(api.calls_to("sendPhoto")) == 1
    assert [c.params["text"] for c in api.calls_to("sendMessage")] == [texts.HELP]


async def test_restart_mid_round_resolves_the_round(api: FakeBotApi, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path, round_seconds=15)  # rounds close early: all 3 players answer
    first = await start_bot(api, settings)
    await add_real_photos(first.figment)
    people = [api.user(301 + n, name) for n, name in enumerate(["Dee", "Eve", "Flo"])]
    chat = api.group(GROUP, "Restarts", members=4)
    api.command(chat, people[0], "/quiz 2")
    [post] = await round_posts(api, 1, GROUP)
    rid, mid = round_id(post), message_id(post)
    assert await toast(api, api.click(people[0], GROUP, mid, f"a:{rid}:r")) == texts.ANSWER_RECORDED
    await first.close()  # the bot goes down mid-round
    assert not api.calls_to("editMessageCaption")  # a clean stop reveals nothing: the round stays open

    # clicks while the bot is down wait at Telegram and arrive in the first poll after the restart
    queued = [api.click(person, GROUP, mid, f"a:{rid}:f") for person in (people[1], people[0], people[2])]
    second = await start_bot(api, settings)  # a new process: new core, new Application, same database
    try:
        # the old buttons work with the new bot, and the round still closes once all 3 have answered
        assert [await toast(api, query) for query in queued] == [
            texts.ANSWER_RECORDED, texts.ANSWER_ALREADY, texts.ANSWER_RECORDED]
        [reveal] = await api.wait_calls("editMessageCaption", 1, lambda c: int(c.params["message_id"]) == mid,
                                        timeout=5)
        assert reveal.params["caption"].startswith("Round 1/2: it was a") and "of 3 got it right" in \
            reveal.params["caption"]
        second_post = (await round_posts(api, 2, GROUP))[-1]  # the game goes on
        rid2, mid2 = round_id(second_post), message_id(second_post)
        for person in people:  # all 3 answer: the round closes at once, as before the restart
            api.click(person, GROUP, mid2, f"a:{rid2}:r")
        await api.wait_calls("editMessageCaption", 1, lambda c: int(c.params["message_id"]) == mid2, timeout=5)
        [summary] = await replies(api, GROUP)
        assert summary.startswith("Game over! 2 rounds played.")
        assert all(f"{name}: " in summary for name in ("Dee", "Eve", "Flo"))
        assert sorted(await recorded_answers(second.figment)) == sorted(
            (r, str(p["id"])) for r in (rid, rid2) for p in people)
    finally:
        await second.close()


async def test_a_command_menu_telegram_refuses_does_not_stop_the_bot(api: FakeBotApi, tmp_path) -> None:  # type: ignore[no-untyped-def]
    api.fault("setMyCommands", "500", times=10)  # refused, whatever the number of tries
    bot = await start_bot(api, make_settings(tmp_path))
    try:
        user = api.user(5, "Alice")
        chat = api.private(user)
        api.command(chat, user, "/help")
        assert await replies(api, chat["id"]) == [texts.HELP]
    finally:
        await bot.close()
    assert [c.outcome for c in api.calls if c.method == "setMyCommands"] == ["500", "500"]


async def test_a_webhook_port_in_use_stops_with_a_clear_error(api: FakeBotApi, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(TelegramStartError, match="updates could not start"):
            await start_bot(api, make_settings(tmp_path), webhook_url=f"http://127.0.0.1:{port}/hook",
                            webhook_listen="127.0.0.1", webhook_port=port)
    assert not api.calls_to("setWebhook")


async def test_webhook_mode(api: FakeBotApi, tmp_path) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    bot = await start_bot(api, make_settings(tmp_path), webhook_url=url, webhook_listen="127.0.0.1",
                          webhook_port=port, webhook_secret="s3cret-Token_1")
    user = api.user(5, "Alice")
    chat = api.private(user)
    try:
        [hook] = api.calls_to("setWebhook")
        assert hook.params["url"] == url and hook.params["secret_token"] == "s3cret-Token_1"
        assert hook.params["allowed_updates"] == ["message", "callback_query", "inline_query", "chosen_inline_result"]
        assert not api.calls_to("getUpdates")
        api.command(chat, user, "/help")
        update = api.updates[-1]
        async with aiohttp.ClientSession() as session:
            async with session.post(url, json=update, headers={SECRET_HEADER: "guess"}) as refused:
                assert refused.status == 403
            async with session.post(url, json=update) as bare:
                assert bare.status == 403
            # Telegram retries when a reply is slow: while the first delivery (the fake's own) is
            # being handled, another is asked to come again (503); once done, it changes nothing.
            answers: list[int] = []
            while len(answers) < 40 and answers[-2:] != [200, 200]:
                async with session.post(url, json=update, headers={SECRET_HEADER: "s3cret-Token_1"}) as ok:
                    answers.append(ok.status)
                await asyncio.sleep(0.05)
            assert answers[-2:] == [200, 200] and set(answers) <= {200, 503}, answers
            for junk in (b"not json", b"[]", b"null", b'{"update_id": 9, "message": "x"}'):
                async with session.post(url, data=junk, headers={SECRET_HEADER: "s3cret-Token_1"}) as bad:
                    assert bad.status == 400, junk
        assert await replies(api, chat["id"]) == [texts.HELP]
    finally:
        await bot.close()
    assert len(api.calls_to("sendMessage")) == 1
