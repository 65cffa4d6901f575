"""`figment run`'s operator pages, on their own small aiohttp server (off unless FIGMENT_METRICS_PORT
is set):

- GET /metrics: Prometheus text. The bot's registry (bot.ops.metrics) and, when the process runs the
  generator itself, the generator's (generator.serving.service), so one scrape sees both.
- GET /livez: 200 while the process and its event loop answer. Served by the loop the bot runs on,
  so a loop blocked by some work times the probe out.
- GET /readyz: 200 with {"ready": true, "checks": {...}} when bot.ops.health's checks pass (database,
  each platform connected, faces in the pool); 503 with the same JSON, naming what is not ready.
"""
from __future__ import annotations

import errno
import logging
import os
import socket
from contextlib import asynccontextmanager
from typing import AsyncIterator

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest

from bot.ops.health import Readiness
from bot.settings import Settings
from generator.serving.prometheus import CONTENT_TYPE, Merged

log = logging.getLogger(__name__)


class MetricsPortError(Exception):
    """The metrics address cannot be bound; the message says what to change."""


class MetricsServer:
    def __init__(self, *registries: CollectorRegistry, readiness: Readiness | None = None) -> None:
        self.collector = Merged(registries)
        self.readiness = readiness  # None: nothing to check, ready while it answers
        self.port = 0
        self._runner: web.AppRunner | None = None

    def include(self, registry: CollectorRegistry) -> None:
        """Show this registry's metrics too, from the next scrape on."""
        self.collector.add(registry)

    async def start(self, host: str, port: int) -> None:
        """Serve on host:port (0: any free port; self.port tells which). Raises MetricsPortError."""
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/livez", self._livez)
        app.router.add_get("/readyz", self._readyz)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        try:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            sock = socket.create_server((host, port), family=family)  # our own socket: port 0 tells what it got
            await web.SockSite(self._runner, sock).start()
        except OSError as error:
            await self.stop()
            raise MetricsPortError(f"cannot serve metrics on {host}:{port}: {_reason(error)}") from None
        self.port = sock.getsockname()[1]
        log.info("metrics on http://%s:%d/metrics", host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(self.collector), headers={"Content-Type": CONTENT_TYPE})

    async def _livez(self, request: web.Request) -> web.Response:
        return web.json_response({"live": True})

    async def _readyz(self, request: web.Request) -> web.Response:
        ready, checks = await self.readiness.check() if self.readiness is not None else (True, {})
        body = {"ready": ready, "checks": checks}
        if not ready:
            body["not_ready"] = [name for name, value in checks.items() if value != "ok"]
        return web.json_response(body, status=200 if ready else 503)


def _reason(error: OSError) -> str:
    """What went wrong, and which setting to change: no traceback, no socket jargon."""
    if error.errno == errno.EADDRINUSE:
        return "the port is in use. Set FIGMENT_METRICS_PORT to a free port, or to 0 for no metrics."
    # A name that does not resolve comes back with a negative (getaddrinfo) code.
    if isinstance(error, socket.gaierror) or error.errno == errno.EADDRNOTAVAIL or (error.errno or 0) < 0:
        return "no such address on this machine. Set FIGMENT_METRICS_LISTEN (default 127.0.0.1)."
    detail = os.strerror(error.errno) if error.errno else str(error)
    return f"{detail}. Check FIGMENT_METRICS_LISTEN and FIGMENT_METRICS_PORT."


@asynccontextmanager
async def serve_metrics(settings: Settings, *registries: CollectorRegistry,
                        readiness: Readiness | None = None) -> AsyncIterator[MetricsServer | None]:
    """The metrics server of the settings (None when metrics are off), stopped on the way out."""
    if not settings.metrics_port:
        yield None
        return
    server = MetricsServer(*registries, readiness=readiness)
    await server.start(settings.metrics_listen, settings.metrics_port)
    try:
        yield server
    finally:
        await server.stop()
