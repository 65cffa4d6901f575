"""Updates handled once, across every bot process: Telegram may deliver an update again (a lost
confirmation, a webhook reply that came too late), and behind a load balancer the second
delivery may reach another worker; it must change nothing. An update whose worker died while
handling it (before answering Telegram) is handled by the worker that gets it again (db.seen)."""
from __future__ import annotations

import logging
import random
from collections import deque
from datetime import datetime

from bot.database import Database
from db import seen
from db.models import utcnow

log = logging.getLogger(__name__)


class SeenUpdates:
    """This process's recent update ids: the cheap first check, and the only one without a database."""

    def __init__(self, size: int = 50_000) -> None:
        self.size = size
        self._order: deque[str] = deque()
        self._ids: set[str] = set()

    def first_time(self, update_id: str) -> bool:
        if update_id in self._ids:
            return False
        self._ids.add(update_id)
        self._order.append(update_id)
        if len(self._order) > self.size:
            self._ids.discard(self._order.popleft())
        return True


class UpdateLog:
    def __init__(self, db: Database, platform: str) -> None:
        self.db = db
        self.platform = platform
        self._recent = SeenUpdates()

    async def first_time(self, update_id: int | str, now: datetime | None = None) -> bool:
        """Claim the update: True to handle it here (then call finished), False to ignore it."""
        key = str(update_id)
        if not self._recent.first_time(key):
            return False
        try:
            async with self.db.transaction() as session:
                if random.random() < 0.001:  # now and then, forget what no platform redelivers any more
                    await seen.forget_before(session, utcnow() - seen.KEEP)
                return await seen.claim(session, self.platform, key, now or utcnow())
        except Exception:  # a database hiccup must not lose the update: handle it (this process saw it first)
            log.exception("could not record update %s; handling it", key)
            return True

    async def finished(self, update_id: int | str) -> None:
        """The update was handled to the end: no later delivery is handled again."""
        try:
            async with self.db.transaction() as session:
                await seen.finish(session, self.platform, str(update_id))
        except Exception:  # then a redelivery after seen.STALE may handle it again: rare, and logged
            log.exception("could not mark update %s handled", update_id)
