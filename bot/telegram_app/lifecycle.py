"""Start, run and stop the Telegram bot around one Figment core.

serve() builds the real python-telegram-bot Application (rate limiter on, updates handled
concurrently), registers the quiz presenter, publishes the command list, lets the core recover
games that were running at the last stop, then receives updates by long polling (default) or
webhook, and returns once `stop` is set. A clean stop leaves open rounds open: the next start
resumes them and their buttons keep working.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Callable
from urllib.parse import urlsplit

from telegram import Bot, BotCommand
from telegram.error import InvalidToken, TelegramError
from telegram.ext import Application, ApplicationBuilder

from bot import i18n, texts
from bot.app import Figment
from bot.ops.health import Readiness
from bot.settings import Settings
from bot.telegram_app.api_errors import CountingRequest
from bot.telegram_app.calls import deliver
from bot.telegram_app.flood import ChatLanes
from bot.telegram_app.check import CheckHandlers
from bot.telegram_app.daily import DailyHandlers
from bot.telegram_app.handlers import Handlers
from bot.telegram_app.people import PLATFORM, ChatDirectory
from bot.telegram_app.presenter import TelegramPresenter
from bot.telegram_app.webhook import WebhookReceiver, default_secret

log = logging.getLogger(__name__)
ALLOWED_UPDATES = ["message", "callback_query"]


class TelegramStartError(RuntimeError):
    """The bot could not start (e.g. Telegram refused the token); the message says why."""


@dataclass(frozen=True)
class TelegramOptions:
    base_url: str | None = None  # a self-hosted Bot API server (or a test's fake): ".../bot"
    base_file_url: str | None = None  # default: base_url with /bot replaced by /file/bot
    webhook_url: str | None = None  # set: webhook mode, Telegram POSTs here; unset: long polling
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = 8443
    webhook_path: str | None = None  # the path served; default the path of webhook_url
    webhook_secret: str | None = None  # default: derived from the token, alike in every worker
    poll_timeout: float = 30.0  # long-polling wait per getUpdates, in seconds
    drop_pending_updates: bool = False
    rate_limit: bool = True  # per-chat flood limits, 429s waited out in their chat only (flood.py)
    max_retries: int = 3  # retries after a 429, inside the rate limiter
    # Updates handled at once. Most of a handler's time is waiting (a busy chat's send lane, the
    # generator) and a waiting handler holds its place, so there are many: with 64, a /face burst
    # in a few groups held back the button clicks of every other chat.
    concurrent_updates: int = 256
    small_chat: int = 10  # groups with at most this many humans close a round when all answered
    started: asyncio.Event | None = None  # set once updates are being received (tests, runners)
    health: Readiness | None = None  # told once updates are being received, and how to check they still are


def options_from_settings(settings: Settings) -> dict[str, object]:
    """serve() options from FIGMENT_TELEGRAM_* settings."""
    options: dict[str, object] = {}
    if settings.telegram_api_url:
        options["base_url"] = settings.telegram_api_url
    if settings.telegram_webhook_url:
        options.update(webhook_url=settings.telegram_webhook_url, webhook_listen=settings.telegram_webhook_listen,
                       webhook_port=settings.telegram_webhook_port)
        if settings.telegram_webhook_secret is not None:
            options["webhook_secret"] = settings.telegram_webhook_secret.get_secret_value()
    return options


def build_application(token: str, options: TelegramOptions,  # type: ignore[type-arg]
                      count_error: Callable[[str], None] | None = None) -> Application:
    """count_error(kind), when given, hears of every Bot API call that failed (bot.ops.metrics)."""
    builder = ApplicationBuilder().token(token).concurrent_updates(options.concurrent_updates).job_queue(None)
    if count_error is not None:  # PTB's default requests (256 connections, and 1 for getUpdates), counted
        builder = builder.request(CountingRequest(count_error)).get_updates_request(
            CountingRequest(count_error, connection_pool_size=1))
    if options.base_url:
        builder = builder.base_url(options.base_url)
        builder = builder.base_file_url(options.base_file_url or _file_url(options.base_url))
    if options.rate_limit:
        builder = builder.rate_limiter(ChatLanes(max_retries=options.max_retries))
    if options.webhook_url:
        builder = builder.updater(None)  # updates arrive through our WebhookReceiver
    return builder.build()


def _file_url(base_url: str) -> str:
    head, _, tail = base_url.rstrip("/").rpartition("/bot")
    return f"{head}/file/bot{tail}" if head else base_url


def bot_commands(lang: str | None = None) -> list[BotCommand]:
    return [BotCommand(name, description) for name, description in texts.lang(lang).COMMANDS]


async def publish_commands(bot: Bot) -> None:
    """The command menu: English for everyone, and each catalogue's for users whose app speaks it
    (Telegram picks by the user's language_code, a two-letter code: pt_BR is published as "pt")."""
    await deliver(lambda: bot.set_my_commands(bot_commands()), "setMyCommands", attempts=2)
    for lang in i18n.available()[1:]:
        code = lang.split("_")[0]
        await deliver(lambda lang=lang, code=code: bot.set_my_commands(bot_commands(lang), language_code=code),
                      "setMyCommands", attempts=2)


async def serve(figment: Figment, token: str, stop: asyncio.Event, **options: object) -> None:
    """Run the Telegram front-end until `stop` is set. Options (see TelegramOptions) default to the
    FIGMENT_TELEGRAM_* settings of figment.settings; those given here win."""
    opts = TelegramOptions(**{**options_from_settings(figment.settings), **options})  # type: ignore[arg-type]
    # httpx logs every request URL at INFO, and a Bot API URL contains the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    application = build_application(token, opts, lambda kind: figment.metrics.platform_error(PLATFORM, kind))
    try:
        await deliver(application.initialize, "getMe", attempts=3)
    except TelegramError as error:
        # initialize() opened the HTTP clients before getMe failed, and shutdown() skips an
        # Application that never initialized: close them here.
        await application.bot.shutdown()
        if isinstance(error, InvalidToken):  # its own message would show the token
            raise TelegramStartError("Telegram refused the bot token (FIGMENT_TELEGRAM_TOKEN). "
                                     "Check it with @BotFather.") from None
        raise TelegramStartError(f"Could not reach the Telegram Bot API: {error}") from None
    receiver: WebhookReceiver | None = None
    try:
        bot = application.bot
        log.info("Telegram bot @%s starting (%s)", bot.username, "webhook" if opts.webhook_url else "long polling")
        figment.quiz.register(PLATFORM, TelegramPresenter(bot))
        directory = ChatDirectory(bot, small_chat=opts.small_chat)
        handlers = Handlers(figment, directory)
        DailyHandlers(figment, handlers.say).install(application)  # before the catch-all for buttons
        handlers.install(application, once=not opts.webhook_url)  # webhook: the receiver claims updates
        CheckHandlers(figment, handlers.say).install(application)
        try:
            await publish_commands(bot)
        except TelegramError as error:  # the menu is a nicety: typed commands work without it
            log.warning("could not publish the Telegram command menu (%s); the next start tries again", error)
        # Resume games before any update is taken: clicks that waited at Telegram while the bot was
        # down must find their game running, or a round they complete would not close early.
        resumed = await figment.quiz.recover(PLATFORM, directory.expected_for)
        if resumed:
            log.info("resumed %d Telegram games", resumed)
        await application.start()
        try:
            if opts.webhook_url:
                secret = opts.webhook_secret or default_secret(token)
                path = opts.webhook_path or urlsplit(opts.webhook_url).path or "/"
                receiver = WebhookReceiver(application, path, secret, handlers.seen)
                await receiver.start(opts.webhook_listen, opts.webhook_port)
                await deliver(lambda: bot.set_webhook(opts.webhook_url, secret_token=secret,  # type: ignore[arg-type]
                                                      allowed_updates=ALLOWED_UPDATES,
                                                      drop_pending_updates=opts.drop_pending_updates,
                                                      max_connections=min(100, opts.concurrent_updates)),  # Telegram's 1-100
                                  "setWebhook")
            else:
                assert application.updater is not None
                await application.updater.start_polling(poll_interval=0.0, timeout=int(opts.poll_timeout),
                                                        allowed_updates=ALLOWED_UPDATES,
                                                        drop_pending_updates=opts.drop_pending_updates,
                                                        error_callback=_polling_trouble)
        except (TelegramError, OSError) as error:  # e.g. a webhook URL Telegram refuses, a port in use
            raise TelegramStartError(f"Telegram updates could not start: {error}") from None
        if opts.started is not None:
            opts.started.set()
        if opts.health is not None:
            opts.health.connected(PLATFORM, lambda: _receiving(application))
        await stop.wait()
    finally:
        if opts.health is not None:
            opts.health.disconnected(PLATFORM)
        await _stop(figment, application, receiver)


def _receiving(application: Application) -> str | None:  # type: ignore[type-arg]
    """For /readyz: None while updates come in (polling runs, or the webhook's application does)."""
    if not application.running:
        return "stopped"
    if application.updater is not None and not application.updater.running:
        return "polling stopped"
    return None


def _polling_trouble(error: TelegramError) -> None:
    # PTB retries on its own (growing pauses); a hiccup is worth a line, not a traceback.
    log.warning("polling Telegram for updates failed (%s); retrying", error)


async def _stop(figment: Figment, application: Application, receiver: WebhookReceiver | None) -> None:  # type: ignore[type-arg]
    """Stop taking updates, finish the ones in hand, park the games, then close the client."""
    if receiver is not None:
        await receiver.stop()  # the webhook stays set: Telegram keeps updates until the next start
    if application.updater is not None and application.updater.running:
        await application.updater.stop()  # confirms the updates already fetched
    if application.running:
        await application.stop()
    await figment.quiz.shutdown(PLATFORM)  # open rounds stay open for the next start
    await application.shutdown()
    log.info("Telegram bot stopped")
