"""Webhook mode: a small aiohttp server that takes updates Telegram POSTs, handles each, then answers.

Telegram sends the secret given to setWebhook in a header; anything without it is refused, so
nobody else can feed the bot updates. The handlers are the same as with long polling.

Several workers may serve one webhook URL behind a load balancer: each calls setWebhook with the
same URL and secret (FIGMENT_TELEGRAM_WEBHOOK_SECRET, or by default one derived from the token,
which every worker of the bot derives alike) and listens on its own port.

Each update is handled exactly once across the workers (bot.ops.seen_updates): a worker answers 200 only
once the update is handled (here or before); one it cannot handle now (another live worker has it,
or the database cannot say) gets a 503, so Telegram sends it again later, as it does for any
answer but 2xx.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from typing import Awaitable, Callable

from aiohttp import web
from telegram import Update
from telegram.ext import Application

from bot.ops.seen_updates import DONE, HANDLE, UpdateLog

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
RETRY_LATER = 503  # Telegram retries any answer but 2xx


def default_secret(token: str) -> str:
    """The webhook secret when none is set: the same in every worker of the bot (a random one per
    start would let the last worker's setWebhook lock the others out), and unknown to anyone
    without the token. 43 characters of A-Z, a-z, 0-9, _ and -, as Telegram allows."""
    digest = hmac.new(token.encode(), b"figment telegram webhook secret", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


class WebhookReceiver:
    def __init__(self, application: Application, path: str, secret: str,  # type: ignore[type-arg]
                 updates: UpdateLog | None = None) -> None:
        """updates: the log that makes each update handled once; None: handle every delivery."""
        self.application = application
        self.updates = updates
        self.path = "/" + path.strip("/")
        self.secret = secret
        self._runner: web.AppRunner | None = None
        self.port = 0
        # Files served at the same public address, e.g. inline photos: (path prefix, handler of "{name}").
        self.files: tuple[str, Callable[[web.Request], Awaitable[web.StreamResponse]]] | None = None

    async def start(self, listen: str, port: int) -> None:
        app = web.Application(client_max_size=2 * 1024 * 1024)
        app.router.add_post(self.path, self._receive)
        if self.files is not None:
            app.router.add_get(self.files[0] + "/{name}", self.files[1])
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, listen, port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        log.info("Telegram webhook listening on %s:%s%s", listen, self.port, self.path)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _receive(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            return web.Response(status=403)
        try:
            data = await request.json()
            # PTB fails with AttributeError on a body that is JSON but not an object
            update = Update.de_json(data, self.application.bot) if isinstance(data, dict) else None
        except (ValueError, TypeError, KeyError, AttributeError):
            update = None
        if update is None:
            return web.Response(status=400)
        # Handled before Telegram hears 200: a worker that dies mid-way has not confirmed the update,
        # so Telegram sends it again (to any worker), which takes it over once the claim went stale.
        if self.updates is None:
            await self.application.process_update(update)
            return web.Response(status=200)
        outcome = await self.updates.handle(update.update_id, lambda: self.application.process_update(update))
        if outcome in (HANDLE, DONE):
            return web.Response(status=200)
        log.info("update %s is being handled elsewhere (or the database did not answer); asked Telegram "
                 "to send it again", update.update_id)
        return web.Response(status=RETRY_LATER, headers={"Retry-After": "1"})
