"""The check's own process: a file crafted to be slow to parse (a JPEG of a million empty
markers, a run-length BMP) spends its time in decoder code that no deadline can interrupt from
inside, and a thread cannot be stopped. A process can: at the time limit it is killed, the user
hears "couldn't check this image", and a fresh one starts for the next check. It also keeps a
decoder's crash or memory spike away from the bot. Started on first use as
`python -m bot.provenance.worker FD` (a fresh interpreter: nothing of the bot's event loop or
threads is inherited, and no main module is imported again), talking over a socket pair; kept for
the next checks.
"""
from __future__ import annotations

import atexit
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from bot import texts
from bot.provenance.decoding import CheckRefused

if TYPE_CHECKING:
    from bot.provenance.reading import CheckResult

log = logging.getLogger(__name__)

LIMIT_SECONDS = 5.0     # a worst-case image takes about a second of CPU; a busy machine gets slack
START_SECONDS = 60.0    # the imports of a fresh worker (numpy, PIL, OpenCV, c2pa), on a busy machine
KILL_GRACE = 0.5        # past the limit, how long the worker may take to stop by itself


class CheckTimedOut(Exception):
    """The check ran past the time limit (the worker stopped, or was killed)."""


def _serve(conn: Connection) -> None:
    """The worker's loop: (data, posted size, known versions, deadline) in, an outcome out."""
    import io

    from PIL import Image

    from bot.provenance.reading import check_image

    warm = io.BytesIO()
    Image.new("RGB", (256, 256), "tan").save(warm, "PNG")
    check_image(warm.getvalue())  # first calls load libraries and caches: not on a user's clock
    conn.send(("ready", None))
    while True:
        try:
            data, posted_size, versions, deadline = conn.recv()
        except EOFError:  # the bot went away
            return
        try:
            outcome: tuple[str, Any] = ("ok", check_image(data, posted_size=posted_size, known_versions=versions,
                                                          deadline=deadline))
        except CheckRefused as refused:
            outcome = ("refused", refused.text)  # a later() text pickles whole
        except TimeoutError:
            outcome = ("timeout", None)
        except Exception as error:  # never let an odd file end the worker's loop
            logging.getLogger(__name__).exception("checking an image failed")
            outcome = ("failed", repr(error))
        conn.send(outcome)


class CheckWorker:
    def __init__(self, limit_s: float = LIMIT_SECONDS) -> None:
        self.limit_s = limit_s
        self._process: Any = None
        self._conn: Connection | None = None
        self._lock = threading.Lock()  # one call at a time (the gate already ensures it; this makes sure)

    def check(self, data: bytes, posted_size: int, versions: tuple[str, ...]) -> "CheckResult":
        """Blocking (call it on a thread). Raises CheckRefused or CheckTimedOut."""
        with self._lock:
            conn = self._started()
            deadline = time.monotonic() + self.limit_s  # CLOCK_MONOTONIC: the same in both processes
            conn.send((data, posted_size, versions, deadline))
            if not conn.poll(self.limit_s + KILL_GRACE):
                log.warning("an image check passed its %.1f s limit: its worker is stopped", self.limit_s)
                self.stop()
                raise CheckTimedOut()
            try:
                kind, value = conn.recv()
            except (EOFError, OSError):  # the worker died (a decoder crashed, or the system killed it)
                log.warning("the image check worker died; a new one starts for the next check")
                self.stop()
                raise CheckRefused(texts.CHECK_BROKEN) from None
        if kind == "ok":
            return value  # type: ignore[no-any-return]
        if kind == "refused":
            raise CheckRefused(value)
        if kind == "timeout":
            raise CheckTimedOut()
        raise CheckRefused(texts.CHECK_BROKEN)

    def _started(self) -> Connection:
        if self._process is not None and self._process.poll() is None and self._conn is not None:
            return self._conn
        self.stop()
        ours, theirs = socket.socketpair()
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        try:
            self._process = subprocess.Popen([sys.executable, "-m", "bot.provenance.worker", str(theirs.fileno())],
                                             pass_fds=[theirs.fileno()], env=env, stdin=subprocess.DEVNULL)
        finally:
            theirs.close()
        self._conn = conn = Connection(ours.detach())
        if not conn.poll(START_SECONDS):
            self.stop()
            raise CheckTimedOut()
        try:
            conn.recv()  # "ready"
        except (EOFError, OSError):
            self.stop()
            raise CheckRefused(texts.CHECK_BROKEN) from None
        return conn

    def stop(self) -> None:
        """End the worker now (a later check starts a new one)."""
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if conn is not None:
            conn.close()
        if process is not None:
            process.kill()
            process.wait(5)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None


WORKER = CheckWorker()  # the process's one worker, used under bot.provenance.gate.GATE
atexit.register(WORKER.stop)  # (it would also leave by itself: its socket closes when the bot ends)


if __name__ == "__main__":
    _serve(Connection(int(sys.argv[1])))
