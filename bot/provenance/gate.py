"""At most one image check at a time in a process, run on a worker thread off the event loop.

Why wait rather than refuse at once: a check takes about a second at most, so a user whose check
arrives while another runs expects an answer a moment later, not "busy"; waiting up to WAIT_SECONDS
covers a slow check ahead. Only a longer queue (MAX_WAITING checks already waiting, each holding
its downloaded image in memory) or a slot still taken after that wait gets "busy, try again".
The time limit is the worker process's (bot.provenance.worker): the work ends by it, and so
frees the slot.
"""
from __future__ import annotations

import asyncio
import threading
import time
from typing import Callable, TypeVar

T = TypeVar("T")

WAIT_SECONDS = 6.0       # how long a check waits for the slot (about one time limit)
MAX_WAITING = 4          # checks waiting at once; beyond this, "busy" at once
POLL_SECONDS = 0.05      # how often a waiting check looks at the slot


class GateBusy(Exception):
    """The slot stayed taken (or too many checks wait for it)."""


class CheckGate:
    def __init__(self, wait_s: float = WAIT_SECONDS, max_waiting: int = MAX_WAITING) -> None:
        self.wait_s = wait_s
        self.max_waiting = max_waiting
        # A thread lock, not an asyncio one: it holds for the whole process whatever event loop
        # asks, and the worker thread releases it when the work really ends.
        self._slot = threading.Lock()
        self._waiting = 0

    @property
    def busy(self) -> bool:
        return self._slot.locked()

    async def run(self, work: Callable[[], T]) -> T:
        """work() on a worker thread, alone in this process. Raises GateBusy."""
        await self._acquire()
        future = asyncio.get_running_loop().run_in_executor(None, self._then_release, work)
        # shield: a cancelled caller leaves the thread to finish its (time-limited) work and free the slot
        return await asyncio.shield(future)

    async def _acquire(self) -> None:
        if self._slot.acquire(blocking=False):
            return
        if self._waiting >= self.max_waiting:
            raise GateBusy()
        self._waiting += 1
        try:
            give_up = time.monotonic() + self.wait_s
            while not self._slot.acquire(blocking=False):
                if time.monotonic() >= give_up:
                    raise GateBusy()
                await asyncio.sleep(POLL_SECONDS)
        finally:
            self._waiting -= 1

    def _then_release(self, work: Callable[[], T]) -> T:
        try:
            return work()
        finally:
            self._slot.release()


GATE = CheckGate()  # the process's one slot, shared by every front-end in it
