"""A round-robin reverse proxy in front of Telegram webhook workers, as a deployment has one.

Telegram knows one webhook URL; the proxy sends each request it gets to the next worker in turn,
so every worker receives updates of every chat. A worker that cannot be reached is answered 502
(and one that does not answer within `timeout`, 504): the sender (the fake Bot API, as Telegram)
sends the update again later, and the next try goes to the next worker. `hold_every` delays the
worker's answer of every n-th request by `hold_seconds` after the worker took it, so a sender
with a shorter timeout sends that update again while the first worker handles it: the case that
only de-duplication across processes gets right.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass

import aiohttp
from aiohttp import web

PASSED_HEADERS = ("Content-Type", "X-Telegram-Bot-Api-Secret-Token")


@dataclass
class Forward:
    update_id: int | None
    worker: int  # index into the proxy's workers
    status: int  # what the worker answered; 0: unreachable or no answer in time
    at: float  # wall-clock time (time.time())
    held: bool = False


class RoundRobin:
    def __init__(self, workers: list[str], *, timeout: float = 10.0, hold_every: int = 0,
                 hold_seconds: float = 0.0) -> None:
        self.workers = workers  # base URLs, e.g. http://127.0.0.1:8001
        self.timeout = timeout
        self.hold_every = hold_every
        self.hold_seconds = hold_seconds
        self.forwards: list[Forward] = []
        self._turn = itertools.count()
        self._requests = itertools.count(1)
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self) -> "RoundRobin":
        self._session = aiohttp.ClientSession()
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def received_by(self, worker: int) -> set[int]:
        """Update ids a worker took (answered 200, in time or not)."""
        return {f.update_id for f in self.forwards if f.worker == worker and f.status == 200 and f.update_id}

    async def _forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        worker = next(self._turn) % len(self.workers)
        held = bool(self.hold_every) and next(self._requests) % self.hold_every == 0
        headers = {k: v for k, v in request.headers.items() if k in PASSED_HEADERS}
        forward = Forward(_update_id(body), worker, 0, time.time(), held)
        assert self._session is not None
        try:
            async with self._session.request(request.method, self.workers[worker] + request.path_qs, data=body,
                                             headers=headers,
                                             timeout=aiohttp.ClientTimeout(total=self.timeout)) as answer:
                forward.status = answer.status
                text = await answer.read()
        except asyncio.TimeoutError:
            self.forwards.append(forward)
            return web.Response(status=504)
        except (aiohttp.ClientError, OSError):
            self.forwards.append(forward)
            return web.Response(status=502)
        self.forwards.append(forward)
        if held:
            await asyncio.sleep(self.hold_seconds)  # the worker has it; the sender is still waiting
        return web.Response(status=forward.status, body=text)


def _update_id(body: bytes) -> int | None:
    try:
        value = json.loads(body).get("update_id")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, int) else None
