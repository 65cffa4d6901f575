"""Telegram's side of webhook mode: updates POSTed to the bot's URL until it answers 200.

Once setWebhook has a URL, every update (old ones not yet confirmed, then each new one) is sent as
JSON with the X-Telegram-Bot-Api-Secret-Token header, at most `max_connections` at a time. An
update is delivered when the answer is 200; any other answer, a refused or reset connection, or
no answer within `timeout` seconds, and it is sent again after `retry_after` seconds, as Telegram
does. So a bot that took an update but answered late receives it twice: re-delivery is real.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass
class Attempt:
    update_id: int
    status: int  # the HTTP answer; 0: none (refused, reset, or not within the timeout)
    at: float  # wall-clock time it was sent (time.time())
    seconds: float


class WebhookSender:
    def __init__(self, updates: list[dict[str, Any]], *, timeout: float = 5.0, retry_after: float = 0.25) -> None:
        self.updates = updates  # the fake's list of updates, read as it grows
        self.timeout = timeout
        self.retry_after = retry_after
        self.url = ""
        self.fronts: dict[str, str] = {}  # public https base -> the local http base behind it
        self.secret: str | None = None
        self.max_connections = 40
        self.confirmed: set[int] = set()  # update ids answered with 200
        self.attempts: list[Attempt] = []
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._not_before: dict[int, float] = {}  # update id -> when it may be sent again
        self._wake = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None

    def configure(self, url: str, secret: str | None, max_connections: int) -> None:
        self.url, self.secret, self.max_connections = url, secret, max(1, min(100, max_connections))
        if self._runner is None or self._runner.done():
            self._runner = asyncio.get_running_loop().create_task(self._run(), name="fake-webhook-sender")
        self.wake()

    def reach(self, url: str) -> str:
        """Where a public URL is served: an operator's TLS front (a reverse proxy) hands
        https://host/... to the bot's plain HTTP port; tests name those fronts in `fronts`."""
        for public, local in self.fronts.items():
            if url.startswith(public):
                return local + url[len(public):]
        return url

    def stop(self) -> None:
        self.url = ""
        self.wake()

    def wake(self) -> None:
        self._wake.set()

    def pending(self) -> int:
        return len([u for u in self.updates if u["update_id"] not in self.confirmed])

    async def close(self) -> None:
        self.url = ""
        tasks = [t for t in (self._runner, *self._in_flight.values()) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    async def _run(self) -> None:
        self._session = self._session or aiohttp.ClientSession()
        while self.url:
            self._wake.clear()
            now = time.monotonic()
            due = [u for u in self.updates if u["update_id"] not in self.confirmed
                   and u["update_id"] not in self._in_flight and self._not_before.get(u["update_id"], 0) <= now]
            for update in due[:max(0, self.max_connections - len(self._in_flight))]:
                update_id = update["update_id"]
                self._in_flight[update_id] = asyncio.create_task(self._send(update))
            waits = [t - now for t in self._not_before.values() if t > now]
            try:
                await asyncio.wait_for(self._wake.wait(), min(waits, default=1.0))
            except asyncio.TimeoutError:
                pass

    async def _send(self, update: dict[str, Any]) -> None:
        update_id, started, status = update["update_id"], time.time(), 0
        headers = {SECRET_HEADER: self.secret} if self.secret else {}
        assert self._session is not None
        try:
            async with self._session.post(self.reach(self.url), json=update, headers=headers,
                                          timeout=aiohttp.ClientTimeout(total=self.timeout)) as answer:
                status = answer.status
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
            status = 0
        finally:
            self.attempts.append(Attempt(update_id, status, started, time.time() - started))
            self._in_flight.pop(update_id, None)
            if status == 200:
                self.confirmed.add(update_id)
            else:
                self._not_before[update_id] = time.monotonic() + self.retry_after
            self.wake()
