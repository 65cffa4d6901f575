"""Failed Bot API calls, counted for operators (bot.ops.metrics: figment_bot_platform_errors_total).

Counted where every call ends: the HTTP request object that PTB sends all calls through (getUpdates
included, which bypasses the rate limiter), by HTTP status as for Discord. Each failed attempt
counts once, whether it is retried (429s, 5xx) or not.
"""
from __future__ import annotations

from typing import Any, Callable

from telegram.error import NetworkError, TimedOut
from telegram.request import HTTPXRequest

from bot.ops.metrics import status_kind


class CountingRequest(HTTPXRequest):
    """PTB's own HTTP request, telling `count(kind)` about every reply of 400 or more and every
    request that got no reply."""

    def __init__(self, count: Callable[[str], None], **options: Any) -> None:
        super().__init__(**options)
        self.count = count

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        try:
            code, payload = await super().do_request(*args, **kwargs)
        except TimedOut:
            self.count("timeout")
            raise
        except NetworkError:  # no reply: refused, dropped, unreachable
            self.count("network")
            raise
        kind = status_kind(code)
        if kind is not None:
            self.count(kind)
        return code, payload
