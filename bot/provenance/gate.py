"""At most one image check at a time in a process, on a worker thread, within a time limit.

Why wait rather than refuse at once: a check takes well under a second, so a user whose check
arrives while another runs expects an answer a moment later, not "busy"; waiting up to one time
limit covers even a slow check ahead. Only a queue that long (MAX_WAITING checks already waiting,
each holding its downloaded image in memory) or a slot still taken after that wait gets "busy,
try again". A check is stopped at its time limit by the work itself (the watermark search looks
at the deadline between grid offsets), so the slot is freed when the user is told, and the CPU
is free too: a thread that was merely abandoned would go on computing.
"""
from __future__ import annotations

import asyncio
import threading
import time
from typing import Callable, TypeVar

T = TypeVar("T")

LIMIT_SECONDS = 6.0      # a worst-case check takes about a second of CPU; a busy machine gets slack
WAIT_SECONDS = 6.0       # how long a check waits for the slot (one time limit)
MAX_WAITING = 4          # checks waiting at once; beyond this, "busy" at once
POLL_SECONDS = 0.05      # how often a waiting check looks at the slot
GRACE_SECONDS = 2.0      # after the limit, how long to wait for the work to stop itself


class GateBusy(Exception):
    """The slot stayed taken (or too many checks wait for it)."""


class GateTimeout(Exception):
    """The work ran past the time limit."""


class CheckGate:
    def __init__(self, limit_s: float = LIMIT_SECONDS, wait_s: float = WAIT_SECONDS,
                 max_waiting: int = MAX_WAITING) -> None:
        self.limit_s = limit_s
        self.wait_s = wait_s
        self.max_waiting = max_waiting
        # A thread lock, not an asyncio one: it holds for the whole process whatever event loop
        # asks, and the worker thread releases it when the work really ends.
        self._slot = threading.Lock()
        self._waiting = 0

    @property
    def busy(self) -> bool:
        return self._slot.locked()

    async def run(self, work: Callable[[float], T]) -> T:
        """work(deadline) on a worker thread, alone in this process; deadline is a time.monotonic()
        value the work must stop at (raising TimeoutError). Raises GateBusy or GateTimeout."""
        await self._acquire()
        deadline = time.monotonic() + self.limit_s
        future = asyncio.get_running_loop().run_in_executor(None, self._then_release, work, deadline)
        try:
            # shield: a cancelled or timed-out wait leaves the thread to finish and free the slot;
            # the work's own TimeoutError (its deadline passed) lands here too
            return await asyncio.wait_for(asyncio.shield(future), self.limit_s + GRACE_SECONDS)
        except (TimeoutError, asyncio.TimeoutError):
            raise GateTimeout() from None

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

    def _then_release(self, work: Callable[[float], T], deadline: float) -> T:
        try:
            return work(deadline)
        finally:
            self._slot.release()


GATE = CheckGate()  # the process's one slot, shared by every front-end in it
