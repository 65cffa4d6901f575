"""Failed calls to Discord, counted for operators (bot.ops.metrics: figment_bot_platform_errors_total).

discord.py takes an aiohttp trace configuration for its HTTP session: every REST reply of 400 or
more (429s it waits out and 5xx it retries included) and every request that failed to connect is
counted here, once per attempt. Gateway drops are counted by the client (on_disconnect).
"""
from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Callable

import aiohttp

from bot.ops.metrics import status_kind

def error_trace(count: Callable[[str], None]) -> aiohttp.TraceConfig:
    """A trace configuration (discord.Client's http_trace) that calls count(kind) on each failure."""
    trace = aiohttp.TraceConfig()

    async def ended(session: aiohttp.ClientSession, context: SimpleNamespace,
                    params: aiohttp.TraceRequestEndParams) -> None:
        kind = status_kind(params.response.status)
        if kind is not None:
            count(kind)

    async def failed(session: aiohttp.ClientSession, context: SimpleNamespace,
                     params: aiohttp.TraceRequestExceptionParams) -> None:
        count("timeout" if isinstance(params.exception, asyncio.TimeoutError) else "network")

    trace.on_request_end.append(ended)
    trace.on_request_exception.append(failed)
    return trace
