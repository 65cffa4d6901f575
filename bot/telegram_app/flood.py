"""Telegram's flood limits, kept per chat: a lane for each chat, the game first in it, and nothing
in the way of buttons.

Telegram's FAQ: in one chat about one message a second (short bursts allowed), in a group at most
20 messages a minute, about 30 a second over all chats; beyond that a 429 with retry_after. PTB's
own AIORateLimiter waits out any 429 by holding every request, so one busy chat delayed the button
answers of all others. Here each chat keeps its own pace and its own 429 pause, and requests that
post nothing (answerCallbackQuery, getChatMember, getUpdates) go straight through. The overall
~30 a second is for broadcasts to many users; at one message a second per chat, Figment stays
under it until it plays in 30 chats at the same second.

Every message the bot sends or edits in a chat passes its lane, so a busy group gets later posts,
never refused ones; the quiz starts a round's clock only once its post is through. A lane is a
priority queue, not first come first served: the game's posts, reveals and summaries (sent inside
`sending_as(GAME)`) go before replies, and replies before /face photos (`BULK`), so a burst of
/face in a group does not hold up its running round. A /face asks for `room_for` its chat first:
one that would push the lane past the group's budget for the next minute is refused with the time
to try again, rather than queued for minutes.
"""
from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import math
import time
from collections import deque
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Callable, Coroutine, Iterator

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.telegram_app.calls import retry_seconds

log = logging.getLogger(__name__)

# What posts or changes a message, and so counts against a chat's limits.
MESSAGE_PREFIXES = ("send", "edit", "copyMessage", "forwardMessage", "stopPoll")
NOT_MESSAGES = ("sendChatAction",)

GAME, REPLY, BULK = 0, 1, 2  # lane priorities: lower goes first
_priority: ContextVar[int] = ContextVar("figment_lane_priority", default=REPLY)


@contextmanager
def sending_as(priority: int) -> Iterator[None]:
    """Messages sent inside the block take this place in their chat's lane."""
    token = _priority.set(priority)
    try:
        yield
    finally:
        _priority.reset(token)


class ChatBusy(Exception):
    """The chat's lane is full for now; try again in `seconds`."""

    def __init__(self, seconds: int) -> None:
        super().__init__(f"chat busy for {seconds} s")
        self.seconds = seconds


@dataclass
class _Promise:
    """Room held for a message not sent yet (a /face being drawn): counted in its lane's backlog."""
    chat_id: str
    used: bool = False


_promise: ContextVar[_Promise | None] = ContextVar("figment_lane_promise", default=None)


@dataclass(order=True)
class _Waiter:
    priority: int
    seq: int  # first come first served within a priority (a retry after a 429 keeps its place)
    turn: asyncio.Future[None] = field(compare=False)


@dataclass
class _Lane:
    next_at: float = 0.0  # the earliest time of the next message
    sent: deque[float] = field(default_factory=deque)  # recent messages' times (groups)
    queue: list[_Waiter] = field(default_factory=list)  # a heap: who goes next
    promised: int = 0
    pump: asyncio.Task[None] | None = None


class ChatLanes(BaseRateLimiter[int]):
    def __init__(self, *, per_chat_interval: float = 1.0, group_per_minute: int = 20, group_window: float = 61.0,
                 max_retries: int = 3, game_reserve: int = 4, private_backlog: int = 10,
                 clock: Callable[[], float] = time.monotonic) -> None:
        # group_window is a second over Telegram's minute: a request reserved at the window's
        # edge may reach Telegram a little later than it left here. game_reserve: messages of a
        # group's minute that room_for leaves to the game (a reveal, the next round and its buttons).
        self.per_chat_interval = per_chat_interval
        self.group_per_minute = group_per_minute
        self.group_window = group_window
        self.max_retries = max_retries
        self.game_reserve = game_reserve
        self.private_backlog = private_backlog
        self.clock = clock
        self._lanes: dict[str, _Lane] = {}  # by str(chat_id): PTB may pass ids as int or str
        self._seq = itertools.count()
        self.waited_429 = 0  # 429s met (for operators' logs and the load test)

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        """The bot is closing: messages still queued are not sent (their senders are cancelled)."""
        pumps = [lane.pump for lane in self._lanes.values() if lane.pump is not None]
        for pump in pumps:
            pump.cancel()
        await asyncio.gather(*pumps, return_exceptions=True)
        for lane in self._lanes.values():
            for waiter in lane.queue:
                waiter.turn.cancel()
            lane.queue.clear()

    async def process_request(self, callback: Callable[..., Coroutine[Any, Any, Any]], args: Any,
                              kwargs: dict[str, Any], endpoint: str, data: dict[str, Any],
                              rate_limit_args: int | None) -> Any:
        if data.get("chat_id") is None or not endpoint.startswith(MESSAGE_PREFIXES) or endpoint in NOT_MESSAGES:
            return await callback(*args, **kwargs)  # a button answer or a lookup: never queued
        chat_id = str(data["chat_id"])
        retries = self.max_retries if rate_limit_args is None else rate_limit_args
        priority, seq = _priority.get(), next(self._seq)
        self._use_promise(chat_id)
        for attempt in range(retries + 1):
            await self._turn(chat_id, priority, seq)
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

    # -- the queue --
    async def _turn(self, chat_id: str, priority: int, seq: int) -> None:
        """Wait until the lane lets this message go."""
        lane = self._lanes.setdefault(chat_id, _Lane())
        waiter = _Waiter(priority, seq, asyncio.get_running_loop().create_future())
        heapq.heappush(lane.queue, waiter)
        if lane.pump is None or lane.pump.done():
            lane.pump = asyncio.create_task(self._pump(chat_id, lane), name=f"telegram-lane-{chat_id}")
        await waiter.turn  # cancelled: the pump skips it

    async def _pump(self, chat_id: str, lane: _Lane) -> None:
        """Give the lane's free slots, one at a time, to the first waiter by priority at that moment."""
        while lane.queue:
            now = self.clock()
            at = self._slot(chat_id, lane, now)
            if at > now:
                await asyncio.sleep(at - now)  # a game message queued meanwhile still goes first
                continue
            waiter = heapq.heappop(lane.queue)
            if waiter.turn.done():  # its sender gave up
                continue
            self._book(chat_id, lane, now)
            waiter.turn.set_result(None)

    def _slot(self, chat_id: str, lane: _Lane, now: float) -> float:
        """The earliest time the lane's next message may go."""
        at = max(now, lane.next_at)
        if _is_group(chat_id):
            while lane.sent and at - lane.sent[0] >= self.group_window:
                lane.sent.popleft()
            if len(lane.sent) >= self.group_per_minute:
                at = max(at, lane.sent[-self.group_per_minute] + self.group_window)
        return at

    def _book(self, chat_id: str, lane: _Lane, at: float) -> None:
        if _is_group(chat_id):
            lane.sent.append(at)
        lane.next_at = at + self.per_chat_interval

    def _reserve(self, chat_id: int | str) -> float:
        """Book the chat's next free slot at once; returns how long to wait for it (tests)."""
        chat_id = str(chat_id)
        now = self.clock()
        lane = self._lanes.setdefault(chat_id, _Lane())
        at = self._slot(chat_id, lane, now)
        self._book(chat_id, lane, at)
        return at - now

    # -- room for optional messages --
    def busy_for(self, chat_id: int | str) -> int:
        """0 if one more non-game message fits the chat's budget now, else the seconds until it does.
        A group's budget is its minute's messages less the game's reserve, counting those sent in
        the last minute, those queued and those promised; a private chat's, a short queue."""
        chat_id = str(chat_id)
        lane = self._lanes.setdefault(chat_id, _Lane())
        now = self.clock()
        backlog = len([w for w in lane.queue if not w.turn.done()]) + lane.promised
        if not _is_group(chat_id):
            over = backlog - self.private_backlog + 1
            return 0 if over <= 0 else max(1, math.ceil(over * self.per_chat_interval))
        while lane.sent and now - lane.sent[0] >= self.group_window:
            lane.sent.popleft()
        sent = sorted(lane.sent)
        over = len(sent) + backlog - (self.group_per_minute - self.game_reserve) + 1
        if over <= 0:
            return 0
        # the over-th oldest message must leave the window (queued ones leave a window later)
        leaves = sent[over - 1] + self.group_window if over <= len(sent) else now + 2 * self.group_window
        return max(1, math.ceil(leaves - now))

    @contextmanager
    def room_for(self, chat_id: int | str) -> Iterator[None]:
        """Hold room for one message to be sent in the block (e.g. a face still being drawn), or
        raise ChatBusy. The room counts in the backlog until that message is queued."""
        chat_id = str(chat_id)
        seconds = self.busy_for(chat_id)
        if seconds:
            raise ChatBusy(seconds)
        lane = self._lanes.setdefault(chat_id, _Lane())
        promise = _Promise(chat_id)
        lane.promised += 1
        token = _promise.set(promise)
        try:
            yield
        finally:
            _promise.reset(token)
            if not promise.used:
                lane.promised -= 1

    def _use_promise(self, chat_id: str) -> None:
        promise = _promise.get()
        if promise is not None and not promise.used and promise.chat_id == chat_id:
            promise.used = True  # from here the message counts as queued
            self._lanes[promise.chat_id].promised -= 1


def _is_group(chat_id: int | str) -> bool:
    """Groups and channels have negative ids (or an @username)."""
    try:
        return int(chat_id) < 0
    except (TypeError, ValueError):
        return True
