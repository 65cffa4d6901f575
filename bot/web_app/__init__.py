"""The playground: Figment in a local web page, a third front-end on the same core.

Entry point for `figment demo` (and `figment run`, if it serves the page too):
`await serve(figment, stop, host=..., port=...)` returns once `stop` is set.
"""
from __future__ import annotations

import asyncio
from typing import Callable

from aiohttp import web

from bot.app import Figment
from bot.ops.starter_photos import StarterPhotos
from bot.web_app.server import build_app

__all__ = ["build_app", "serve"]


async def serve(figment: Figment, stop: asyncio.Event, *, host: str = "127.0.0.1", port: int = 8765,
                on_ready: Callable[[str], None] | None = None, starter: StarterPhotos | None = None) -> None:
    """Serve the playground until `stop` is set. on_ready gets the page's URL once it listens;
    OSError if the port is taken. `starter` imports first-run photos while the page is up."""
    runner = web.AppRunner(build_app(figment, starter=starter), shutdown_timeout=5.0, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        if on_ready is not None:
            bound_port = runner.addresses[0][1] if runner.addresses else port
            shown_host = f"[{host}]" if ":" in host else host
            on_ready(f"http://{shown_host}:{bound_port}/")
        await stop.wait()
    finally:
        await runner.cleanup()
