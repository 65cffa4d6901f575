"""Per-user rate limits (sliding window, in memory): protect the generator from one eager user."""
from __future__ import annotations

import math
import time
from collections import defaultdict, deque
from typing import Callable, Hashable

from bot.errors import UserError
from bot.texts import slow_down


class RateLimiter:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._hits: dict[Hashable, deque[float]] = defaultdict(deque)

    def check(self, key: Hashable) -> None:
        """Count one request for key, or raise UserError saying when to come back."""
        now = self.clock()
        hits = self._hits[key]
        while hits and now - hits[0] >= 60.0:
            hits.popleft()
        if len(hits) >= self.per_minute:
            raise UserError(slow_down(max(1, math.ceil(60.0 - (now - hits[0])))))
        hits.append(now)
        if len(self._hits) > 100_000:  # forget idle users so memory stays bounded
            for idle in [k for k, v in self._hits.items() if not v or now - v[-1] >= 60.0]:
                del self._hits[idle]
