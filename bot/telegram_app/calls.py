"""Calling the Bot API through trouble: transient failures are retried, refusals are not.

The rate limiter (bot.telegram_app.flood) already waits out 429s; this adds retries for 5xx replies,
timeouts and dropped connections, and a last wait for a 429 the limiter gave up on. A 400
(BadRequest), 403 (Forbidden) or 401 is the API's answer, not a hiccup: it is raised at once.
"""
from __future__ import annotations

import asyncio
import logging
import warnings
from datetime import timedelta
from typing import Awaitable, Callable, TypeVar

from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut

log = logging.getLogger(__name__)
T = TypeVar("T")


def retry_seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that retry_after becomes a timedelta; both work
        warnings.simplefilter("ignore")
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


async def deliver(make: Callable[[], Awaitable[T]], what: str, *, attempts: int = 5,
                  first_wait: float = 0.5, retry_timeouts: bool = True) -> T:
    """Await make() until it succeeds, retrying transient errors with a growing pause.
    retry_timeouts=False: a timed-out request may have gone through, so it is raised, not sent
    again (for calls that must not happen twice, such as posting a round)."""
    wait = first_wait
    for attempt in range(1, attempts):
        try:
            return await make()
        except BadRequest:
            raise
        except RetryAfter as error:
            pause, reason = retry_seconds(error) + 0.1, str(error)
        except NetworkError as error:  # 5xx, timeouts, dropped connections
            if isinstance(error, TimedOut) and not retry_timeouts:
                raise
            pause, reason = wait, str(error)
            wait = min(wait * 2, 10.0)
        log.warning("Telegram %s failed (%s); retry %d in %.1f s", what, reason, attempt, pause)
        await asyncio.sleep(pause)
    return await make()  # the last try: its error, if any, goes to the caller


def is_not_modified(error: BadRequest) -> bool:
    """The edit was already made (e.g. a retry after a lost reply)."""
    return "not modified" in str(error).lower()


def is_stale_query(error: BadRequest) -> bool:
    """The callback query was already answered or has expired: nothing more to say."""
    text = str(error).lower()
    return "query is too old" in text or "query id is invalid" in text
