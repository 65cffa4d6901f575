"""Telegram's flood limits, kept per chat: a lane for each chat, and nothing in the way of buttons.

Telegram's FAQ: in one chat about one message a second (short bursts allowed), in a group at most
20 messages a minute, about 30 a second over all chats; beyond that a 429 with retry_after. PTB's
own AIORateLimiter waits out any 429 by holding every request, so one busy chat delayed the button
answers of all others. Here each chat keeps its own pace and its own 429 pause, and requests that
post nothing (answerCallbackQuery, getChatMember, getUpdates) go straight through. The overall
~30 a second is for broadcasts to many users; at one message a second per chat, Figment stays
under it until it plays in 30 chats at the same second.

Every message the bot sends or edits in a chat (quiz posts, reveals, /face, replies) passes its
lane, so a busy group gets later posts, never refused ones; the quiz starts a round's clock only
once its post is through.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Coroutine

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.telegram_app.calls import retry_seconds

log = logging.getLogger(__name__)

# What posts or changes a message, and so counts against a chat's limits.
MESSAGE_PREFIXES = ("send", "edit", "copyMessage", "forwardMessage", "stopPoll")
NOT_MESSAGES = ("sendChatAction",)


@dataclass
class _Lane:
    next_at: float = 0.0  # the earliest time of the next message
    sent: deque[float] = field(default_factory=deque)  # recent reservations (groups)


class ChatLanes(BaseRateLimiter[int]):
    def __init__(self, *, per_chat_interval: float = 1.0, group_per_minute: int = 20, group_window: float = 61.0,
                 max_retries: int = 3,
                 clock: Callable[[], float] = time.monotonic) -> None:
        # group_window is a second over Telegram's minute: a request reserved at the window's
        # edge may reach Telegram a little later than it left here.
        self.per_chat_interval = per_chat_interval
        self.group_per_minute = group_per_minute
        self.group_window = group_window
        self.max_retries = max_retries
        self.clock = clock
        self._lanes: dict[int | str, _Lane] = {}
        self.waited_429 = 0  # 429s met (for operators' logs and the load test)

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def process_request(self, callback: Callable[..., Coroutine[Any, Any, Any]], args: Any,
                              kwargs: dict[str, Any], endpoint: str, data: dict[str, Any],
                              rate_limit_args: int | None) -> Any:
        chat_id = data.get("chat_id")
        if chat_id is None or not endpoint.startswith(MESSAGE_PREFIXES) or endpoint in NOT_MESSAGES:
            return await callback(*args, **kwargs)  # a button answer or a lookup: never queued
        retries = self.max_retries if rate_limit_args is None else rate_limit_args
        for attempt in range(retries + 1):
            await asyncio.sleep(self._reserve(chat_id))
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as error:
                self.waited_429 += 1
                if attempt == retries:
                    raise
                pause = retry_seconds(error) + 0.1
                log.warning("Telegram asked to wait %.1f s in chat %s", pause, chat_id)
                lane = self._lanes[chat_id]
                lane.next_at = max(lane.next_at, self.clock() + pause)  # this chat only
        raise AssertionError("unreachable")

    def _reserve(self, chat_id: int | str) -> float:
        """Book the chat's next free slot; returns how long to wait for it."""
        now = self.clock()
        lane = self._lanes.setdefault(chat_id, _Lane())
        at = max(now, lane.next_at)
        if _is_group(chat_id):
            while lane.sent and at - lane.sent[0] >= self.group_window:
                lane.sent.popleft()
            if len(lane.sent) >= self.group_per_minute:
                at = max(at, lane.sent[-self.group_per_minute] + self.group_window)
            lane.sent.append(at)
        lane.next_at = at + self.per_chat_interval
        return at - now


def _is_group(chat_id: int | str) -> bool:
    """Groups and channels have negative ids (or an @username)."""
    try:
        return int(chat_id) < 0
    except (TypeError, ValueError):
        return True
