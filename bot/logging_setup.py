"""Logging for the bot: readable lines, and secrets scrubbed from every record.

Libraries log request URLs (Telegram's Bot API puts the token in the URL), so redaction sits on
the handler: whatever logger emits, a configured secret never reaches the output.
"""
from __future__ import annotations

import logging
from typing import Iterable

REDACTED = "[secret]"


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        text = message
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            for secret in self.secrets:
                record.exc_text = record.exc_text.replace(secret, REDACTED)
        if text != message:
            record.msg, record.args = text, None
        return True


def configure_logging(secrets: Iterable[str] = (), level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Request lines carry the bot token in the URL: keep them out of INFO output altogether.
    for noisy in ("httpx", "httpcore", "telegram.ext.Updater", "discord.http", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def secrets_of(settings) -> list[str]:  # type: ignore[no-untyped-def]
    values = [settings.telegram_token, settings.discord_token, settings.generator_token,
              getattr(settings, "telegram_webhook_secret", None)]
    return [v.get_secret_value() for v in values if v is not None]
