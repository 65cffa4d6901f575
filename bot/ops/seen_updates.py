"""Updates handled exactly once, across every bot process: Telegram may deliver an update again (a
lost confirmation, a webhook reply that came too late), and behind a load balancer the second
delivery may reach another worker; it must change nothing, and it must not be lost either.

The database decides (db.seen_updates): an update is claimed before its handler runs, the claim is
refreshed while it runs (a handler may wait a long time in a busy chat's send lane), and it is
marked done at the end. A delivery that finds a live claim is refused *for now* (webhook: a
non-200, so Telegram sends it again), never swallowed; one whose worker died is taken over once
the claim went unrefreshed for the claim timeout. This process remembers only ids it finished.
"""
from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import AsyncIterator, Awaitable, Callable

from db.database import Database
from db import seen_updates as seen
from db.seen_updates import Claim

log = logging.getLogger(__name__)

# What a delivery gets: handle it (then finish it), done before, or not now (ask again later).
HANDLE, DONE, NOT_NOW = "handle", "done", "not now"


class SeenUpdates:
    """This process's recent *finished* update ids: the cheap first check, without a database."""

    def __init__(self, size: int = 50_000) -> None:
        self.size = size
        self._order: deque[str] = deque()
        self._ids: set[str] = set()

    def __contains__(self, update_id: str) -> bool:
        return update_id in self._ids

    def add(self, update_id: str) -> None:
        if update_id in self._ids:
            return
        self._ids.add(update_id)
        self._order.append(update_id)
        if len(self._order) > self.size:
            self._ids.discard(self._order.popleft())


class UpdateLog:
    def __init__(self, db: Database, platform: str, claim_timeout: timedelta = seen.STALE) -> None:
        self.db = db
        self.platform = platform
        self.claim_timeout = claim_timeout
        self._done = SeenUpdates()
        self._handling: set[str] = set()  # claimed here, handler running

    def remembers(self, update_id: int | str) -> bool:
        """Finished here (this process will never handle it again)."""
        return str(update_id) in self._done

    async def claim(self, update_id: int | str) -> str:
        """HANDLE (claimed here: run the handler under heartbeat(), then finished()), DONE, or
        NOT_NOW: another live worker is handling it, or the database could not say."""
        key = str(update_id)
        if key in self._done:
            return DONE
        if key in self._handling:
            return NOT_NOW  # a second delivery to this very process while the first still runs
        self._handling.add(key)
        try:
            async with self.db.transaction() as session:
                if random.random() < 0.001:  # now and then, forget what no platform redelivers any more
                    await seen.forget_old(session)
                outcome = await seen.claim(session, self.platform, key, self.claim_timeout)
        except Exception:
            self._handling.discard(key)
            log.exception("could not claim update %s; asking for it again later", key)
            return NOT_NOW
        if outcome is not Claim.TAKEN:
            self._handling.discard(key)
        if outcome is Claim.DONE:
            self._done.add(key)
        return {Claim.TAKEN: HANDLE, Claim.DONE: DONE, Claim.BUSY: NOT_NOW}[outcome]

    @asynccontextmanager
    async def heartbeat(self, update_id: int | str) -> AsyncIterator[None]:
        """Keep this process's claim fresh while the block runs."""
        task = asyncio.create_task(self._beat(str(update_id)), name=f"claim-heartbeat-{update_id}")
        try:
            yield
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _beat(self, key: str) -> None:
        every = self.claim_timeout.total_seconds() / 3  # two beats may fail before the claim goes stale
        while True:
            await asyncio.sleep(every)
            try:
                async with self.db.transaction() as session:
                    await seen.refresh(session, self.platform, key)
            except Exception:  # the next beat tries again
                log.warning("could not refresh the claim on update %s", key, exc_info=True)

    async def finished(self, update_id: int | str, attempts: int = 3) -> None:
        """The update was handled to the end: no later delivery is handled again."""
        key = str(update_id)
        self._done.add(key)  # here, at least, it is never handled again
        self._handling.discard(key)
        for attempt in range(1, attempts + 1):
            try:
                async with self.db.transaction() as session:
                    await seen.finish(session, self.platform, key)
                return
            except Exception:
                if attempt == attempts:  # then another worker may handle a redelivery: rare, and logged
                    log.exception("could not mark update %s handled", key)
                else:
                    await asyncio.sleep(0.1 * attempt)

    def abandoned(self, update_id: int | str) -> None:
        """The handler did not run to the end here (cancelled): the claim goes stale, and a
        redelivery is handled then."""
        self._handling.discard(str(update_id))

    async def handle(self, update_id: int | str, work: Callable[[], Awaitable[object]]) -> str:
        """Claim, run work() with the claim kept fresh, finish: what claim() said."""
        outcome = await self.claim(update_id)
        if outcome != HANDLE:
            return outcome
        try:
            async with self.heartbeat(update_id):
                await work()
        except BaseException:
            self.abandoned(update_id)
            raise
        await self.finished(update_id)
        return HANDLE

    async def first_time(self, update_id: int | str) -> bool:
        """Long polling's check: True to handle the update (then call finished). getUpdates has
        confirmed it already, so nothing would send it again: a database that cannot answer must
        not lose it (handled), and a live claim elsewhere means it is being handled (ignored)."""
        key = str(update_id)
        if key in self._done or key in self._handling:
            return False
        try:
            async with self.db.transaction() as session:
                outcome = await seen.claim(session, self.platform, key, self.claim_timeout)
        except Exception:
            log.exception("could not record update %s; handling it", key)
            outcome = Claim.TAKEN
        if outcome is Claim.TAKEN:
            self._handling.add(key)
        return outcome is Claim.TAKEN
