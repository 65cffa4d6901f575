"""The fake platforms refuse what the real ones refuse, and count it.

Raw HTTP requests (no bot) over each documented limit: the fake answers as the platform does, and
`breaches` names the limit, so the bot's own tests can assert they met none.
"""
from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from tests.discord_fake import FakeDiscord
from tests.discord_fake.limits import RateLimits
from tests.telegram_fake import FakeBotApi
from tests.telegram_fake.limits import FloodControl

GROUP = -100777


async def tg(api: FakeBotApi, method: str, data: dict[str, Any] | aiohttp.FormData) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{api.base_url}{api.token}/{method}", data=data) as response:
            return response.status, await response.json()


def keyboard(*buttons: dict[str, str]) -> str:
    return json.dumps({"inline_keyboard": [list(buttons)]})


async def test_telegram_fake_refuses_texts_and_buttons_over_the_limits() -> None:
    async with FakeBotApi(flood=FloodControl(chat_rate=1000, chat_burst=1000)) as api:
        user = api.user(1, "Ann")
        chat = api.private(user)["id"]
        assert (await tg(api, "sendMessage", {"chat_id": chat, "text": "x" * 4097}))[0] == 400
        status, sent = await tg(api, "sendMessage", {"chat_id": chat, "text": "hi"})
        assert status == 200
        message_id = sent["result"]["message_id"]
        edit = {"chat_id": chat, "message_id": message_id}
        assert (await tg(api, "editMessageText", {**edit, "text": "y" * 4097}))[0] == 400
        assert (await tg(api, "editMessageCaption", {**edit, "caption": "c" * 1025}))[0] == 400
        long_data = keyboard({"text": "Real", "callback_data": "d" * 65})
        assert (await tg(api, "sendMessage", {"chat_id": chat, "text": "k", "reply_markup": long_data}))[0] == 400
        no_text = keyboard({"text": "", "callback_data": "a"})
        assert (await tg(api, "sendMessage", {"chat_id": chat, "text": "k", "reply_markup": no_text}))[0] == 400
        many = json.dumps({"inline_keyboard": [[{"text": "b", "callback_data": str(n)} for n in range(101)]]})
        assert (await tg(api, "sendMessage", {"chat_id": chat, "text": "k", "reply_markup": many}))[0] == 400
        form = aiohttp.FormData({"chat_id": str(chat)})
        form.add_field("photo", b"\0" * (10_000_001), filename="big.jpg", content_type="image/jpeg")
        assert (await tg(api, "sendPhoto", form))[0] == 400
        query = api.click(user, chat, message_id, "x")
        assert (await tg(api, "answerCallbackQuery", {"callback_query_id": query, "text": "t" * 201}))[0] == 400
        assert api.breaches == {"text length": 2, "caption length": 1, "callback data": 1, "button text": 1,
                                "keyboard buttons": 1, "photo size": 1, "toast length": 1}


async def test_telegram_fake_floods_answer_429_with_retry_after() -> None:
    async with FakeBotApi() as api:
        chat = api.private(api.user(1, "Ann"))["id"]
        statuses = [(await tg(api, "sendMessage", {"chat_id": chat, "text": f"m{n}"}))[0] for n in range(4)]
        assert statuses == [200, 200, 200, 429]  # a short burst, then about one a second
        status, body = await tg(api, "sendMessage", {"chat_id": chat, "text": "again"})
        assert status == 429 and body["parameters"]["retry_after"] >= 1
        assert body["description"].startswith("Too Many Requests: retry after")
        await asyncio.sleep(1.05)
        assert (await tg(api, "sendMessage", {"chat_id": chat, "text": "later"}))[0] == 200
    async with FakeBotApi(flood=FloodControl(chat_rate=1000, chat_burst=1000)) as api:
        api.group(GROUP, "Busy", members=3)
        statuses = [(await tg(api, "sendMessage", {"chat_id": GROUP, "text": f"m{n}"}))[0] for n in range(21)]
        assert statuses == [200] * 20 + [429]  # 20 messages a minute in a group
        assert api.breaches == {"flood": 1}


async def test_telegram_fake_callback_queries_expire() -> None:
    async with FakeBotApi(query_ttl=0.1) as api:
        user = api.user(1, "Ann")
        chat = api.private(user)["id"]
        _, sent = await tg(api, "sendMessage", {"chat_id": chat, "text": "hi"})
        fresh = api.click(user, chat, sent["result"]["message_id"], "x")
        old = api.click(user, chat, sent["result"]["message_id"], "x")
        assert (await tg(api, "answerCallbackQuery", {"callback_query_id": fresh}))[0] == 200
        await asyncio.sleep(0.15)
        status, body = await tg(api, "answerCallbackQuery", {"callback_query_id": old})
        assert status == 400 and "query is too old" in body["description"]
        assert api.breaches == {"callback query expired": 1}


async def dc(fake: FakeDiscord, method: str, path: str, body: Any = None, *,
             data: aiohttp.FormData | None = None) -> tuple[int, Any, dict[str, str]]:
    headers = {"Authorization": f"Bot {fake.token}"}
    async with aiohttp.ClientSession() as session:
        async with session.request(method, fake.rest_base + path, json=body if data is None else None,
                                   data=data, headers=headers) as response:
            raw = await response.read()
            return response.status, (json.loads(raw) if raw else None), dict(response.headers)


def button_row(*custom_ids: str, label: str = "Real") -> dict[str, Any]:
    return {"type": 1, "components": [{"type": 2, "style": 1, "label": label, "custom_id": c} for c in custom_ids]}


@pytest.fixture
async def discord_fake():  # type: ignore[no-untyped-def]
    fake = await FakeDiscord(interaction_window=0.1, token_lifetime=0.3).start()
    yield fake
    await fake.close()


async def test_discord_fake_refuses_messages_over_the_limits() -> None:
    fake = await FakeDiscord(rate_limits=RateLimits(routes=[])).start()  # buckets are tested below
    try:
        await _over_the_limits(fake)
    finally:
        await fake.close()


async def _over_the_limits(fake: FakeDiscord) -> None:
    channel = fake.add_guild().add_text_channel("general")
    path = f"/channels/{channel['id']}/messages"
    status, message, _ = await dc(fake, "POST", path, {"content": "hello"})
    assert status == 200
    assert (await dc(fake, "PATCH", f"{path}/{message['id']}", {"content": "x" * 2001}))[0] == 400
    assert (await dc(fake, "POST", path, {"components": [button_row("i" * 101)]}))[0] == 400
    assert (await dc(fake, "POST", path, {"components": [button_row("a", label="l" * 81)]}))[0] == 400
    assert (await dc(fake, "POST", path, {"components": [button_row(*"abcdef")]}))[0] == 400
    embed = {"title": "t", "fields": [{"name": "n", "value": "v" * 1025}]}
    assert (await dc(fake, "POST", path, {"embeds": [embed]}))[0] == 400
    form = aiohttp.FormData()
    form.add_field("payload_json", json.dumps({"content": "big"}), content_type="application/json")
    form.add_field("files[0]", b"\0" * (10 * 1024 * 1024 + 1), filename="big.png", content_type="image/png")
    assert (await dc(fake, "POST", path, data=form))[0] == 413
    assert fake.breaches == {"content length": 1, "custom id": 1, "button label": 1, "row buttons": 1,
                             "embed field": 1, "upload size": 1}


async def test_discord_fake_buckets_tell_their_state_and_answer_429(discord_fake: FakeDiscord) -> None:
    fake = discord_fake
    channel = fake.add_guild().add_text_channel("general")
    path = f"/channels/{channel['id']}/messages"
    answers = [await dc(fake, "POST", path, {"content": f"m{n}"}) for n in range(6)]
    assert [status for status, _, _ in answers] == [200] * 5 + [429]
    first_headers, last = answers[0][2], answers[-1]
    assert first_headers["X-RateLimit-Limit"] == "5" and first_headers["X-RateLimit-Remaining"] == "4"
    assert float(first_headers["X-RateLimit-Reset-After"]) > 0 and first_headers["X-RateLimit-Bucket"]
    assert last[1]["retry_after"] > 0 and last[2]["X-RateLimit-Scope"] == "user"
    other = fake.guilds[int(channel["guild_id"])].add_text_channel("other")  # another channel, another bucket
    assert (await dc(fake, "POST", f"/channels/{other['id']}/messages", {"content": "ok"}))[0] == 200
    assert fake.breaches == {"rate limit": 1} and fake.rate_limited == 1


async def test_discord_fake_interactions_expire(discord_fake: FakeDiscord) -> None:
    fake = discord_fake
    guild = fake.add_guild()
    channel = guild.add_text_channel("general")
    member = fake.add_member(guild, "Ann")
    interaction, _ = fake._base_interaction(2, member, channel)
    await asyncio.sleep(0.15)  # past the first-response window (3 s, scaled down)
    callback = f"/interactions/{interaction.id}/{interaction.token}/callback"
    assert (await dc(fake, "POST", callback, {"type": 5}))[0] == 404
    prompt, _ = fake._base_interaction(2, member, channel)
    assert (await dc(fake, "POST", f"/interactions/{prompt.id}/{prompt.token}/callback", {"type": 5}))[0] == 204
    await asyncio.sleep(0.35)  # past the token's lifetime (15 min, scaled down)
    edit = f"/webhooks/{fake.application_id}/{prompt.token}/messages/@original"
    status, body, _ = await dc(fake, "PATCH", edit, {"content": "too late"})
    assert status == 401 and body["code"] == 50027
    assert fake.breaches == {"first response": 1, "token lifetime": 1}
