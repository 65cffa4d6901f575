"""`figment run`: the chat bots of one process, sharing one generator and one database."""
from __future__ import annotations

import asyncio
import logging
import signal
from typing import Awaitable, Callable

from bot.app import Figment
from bot.ops.health import Readiness
from bot.ops.metrics import BotMetrics
from bot.ops.server import serve_metrics
from bot.provenance.credentials import load as load_credentials
from bot.provenance.marking import FaceMarks
from bot.settings import Settings
from bot.ops.wiring import curate_k, load_curator, open_face_source
from generator.serving.service import GeneratorService

log = logging.getLogger(__name__)

Serve = Callable[[Figment, str, asyncio.Event], Awaitable[None]]


class NothingToRun(Exception):
    pass


def front_ends(settings: Settings) -> list[tuple[str, str]]:
    """(platform, token) of each chat platform with a token configured."""
    chosen = []
    if settings.telegram_token is not None:
        chosen.append(("telegram", settings.telegram_token.get_secret_value()))
    if settings.discord_token is not None:
        chosen.append(("discord", settings.discord_token.get_secret_value()))
    if not chosen:
        raise NothingToRun("Set FIGMENT_TELEGRAM_TOKEN and/or FIGMENT_DISCORD_TOKEN (environment or .env), "
                           "or try Figment in your browser with `figment demo`.")
    return chosen


def _serve_function(platform: str) -> Serve:
    # Imported here: a Telegram-only bot never loads discord.py, and the other way round.
    if platform == "telegram":
        from bot.telegram_app import serve as telegram_serve

        return telegram_serve
    from bot.discord_app import serve as discord_serve

    return discord_serve


async def run_bots(settings: Settings, stop: asyncio.Event | None = None) -> None:
    chosen = front_ends(settings)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # not the main thread, or no signals here
            pass
    # The signing key and the metrics port first: a bad one stops the start before the generator loads.
    marks = FaceMarks(load_credentials(settings.c2pa_key, settings.c2pa_cert))
    metrics = BotMetrics()
    # /readyz from the first moment /livez answers: not ready until the core is open and each
    # front-end receives updates.
    readiness = Readiness(platform for platform, _ in chosen)
    async with serve_metrics(settings, metrics.registry, readiness=readiness) as exporter, \
            open_face_source(settings) as source:
        if exporter is not None and isinstance(source, GeneratorService):
            exporter.include(source.metrics.registry)  # the in-process generator's queue, pool and batches
        curator = load_curator(settings, source.model_version, curate_k(settings, source))
        figment = await Figment.open(settings, source, curator=curator,
                                     marks=marks, metrics=metrics)
        readiness.figment = figment
        try:
            log.info("starting %s", " and ".join(platform for platform, _ in chosen))
            tasks = [asyncio.create_task(_serve_function(p)(figment, token, stop, health=readiness), name=f"serve-{p}")
                     for p, token in chosen]
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                if task.exception() is not None:
                    stop.set()  # one front-end failed to start: stop the other cleanly too
            results = await asyncio.gather(*tasks, return_exceptions=True)
            errors = [r for r in results if isinstance(r, BaseException)]
            if errors:
                raise errors[0]
        finally:
            readiness.figment = None  # closing: /readyz says so while /livez still answers
            await figment.close()
