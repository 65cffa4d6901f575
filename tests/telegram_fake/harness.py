"""Running the real Telegram front-end against the fake Bot API, and reading what it did."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from bot.app import Figment
from bot.settings import Settings
from bot.telegram_app import serve
from db.models import Answer, Player
from generator.serving.direct import DirectSource
from tests.fakes import DrawnFaceModel
from tests.telegram_fake.server import Call, FakeBotApi


@dataclass
class RunningBot:
    figment: Figment
    stop: asyncio.Event
    task: asyncio.Task[None]

    async def close(self, timeout: float = 15.0) -> None:
        """A clean stop of the front-end, then of the core (as `figment run` does on Ctrl-C)."""
        self.stop.set()
        try:
            await asyncio.wait_for(self.task, timeout)
        finally:
            await self.figment.close()


async def start_bot(api: FakeBotApi, settings: Settings, figment: Figment | None = None,
                    **options: Any) -> RunningBot:
    figment = figment or await Figment.open(settings, DirectSource(DrawnFaceModel()))
    stop, started = asyncio.Event(), asyncio.Event()
    options = {"base_url": api.base_url, "poll_timeout": 5, **options}
    task = asyncio.create_task(serve(figment, api.token, stop, started=started, **options))
    waiter = asyncio.create_task(started.wait())
    done, _ = await asyncio.wait({task, waiter}, timeout=15, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        waiter.cancel()
        await figment.close()
        task.result()  # raises what went wrong
        raise AssertionError("serve() returned before it started")
    if waiter not in done:
        raise AssertionError("the bot did not start within 15 s")
    return RunningBot(figment, stop, task)


def buttons(call: Call) -> list[str]:
    markup = call.params.get("reply_markup") or {}
    return [b.get("callback_data", "") for row in markup.get("inline_keyboard", []) for b in row]


def is_round_post(call: Call) -> bool:
    return any(data.startswith("a:") for data in buttons(call))


def round_id(call: Call) -> int:
    return int(buttons(call)[0].split(":")[1])


def message_id(call: Call) -> int:
    return int(call.result["message_id"])


async def round_posts(api: FakeBotApi, count: int, chat_id: int, timeout: float = 15.0) -> list[Call]:
    """A round is posted as a photo, then given its buttons once Telegram confirmed the photo:
    the calls that gave a round its buttons (their result is the round's message)."""
    return await api.wait_calls("editMessageReplyMarkup", count,
                                lambda c: is_round_post(c) and int(c.params["chat_id"]) == chat_id, timeout=timeout)


def live_round_messages(api: FakeBotApi, chat_id: int) -> list[dict[str, Any]]:
    """Messages in the chat that show answer buttons now."""
    return [m for (chat, _), m in api.messages.items() if chat == chat_id and any(
        b.get("callback_data", "").startswith("a:")
        for row in (m.get("reply_markup") or {}).get("inline_keyboard", []) for b in row)]


async def toast(api: FakeBotApi, query_id: str, timeout: float = 15.0) -> str | None:
    """The text of the (successful) answerCallbackQuery for this click."""
    [call] = await api.wait_calls("answerCallbackQuery", 1,
                                  lambda c: c.params.get("callback_query_id") == query_id, timeout=timeout)
    return call.params.get("text")


async def replies(api: FakeBotApi, chat_id: int, count: int = 1, since: int = 0, timeout: float = 15.0) -> list[str]:
    calls = await api.wait_calls("sendMessage", count, lambda c: int(c.params["chat_id"]) == chat_id,
                                 since=since, timeout=timeout)
    return [str(c.params["text"]) for c in calls]


async def recorded_answers(figment: Figment) -> list[tuple[int, str]]:
    """(round id, Telegram user id) of every stored answer."""
    async with figment.db.transaction() as session:
        rows = await session.execute(select(Answer.round_id, Player.platform_user_id)
                                     .join(Player, Player.id == Answer.player_id))
        return [(int(r), str(u)) for r, u in rows.all()]
