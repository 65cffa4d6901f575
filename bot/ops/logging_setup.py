"""Logging for the bot: readable lines, and secrets scrubbed from every record.

Libraries log request URLs (Telegram's Bot API puts the token in the URL), so redaction sits on
the handler: whatever logger emits, a configured secret never reaches the output.
"""
from __future__ import annotations

import logging
from typing import Iterable

from sqlalchemy.engine import make_url

REDACTED = "[secret]"


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        text = redact(message, self.secrets)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
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
    """Every secret the settings hold: tokens, and the database password (a PostgreSQL URL may carry one)."""
    values = [settings.telegram_token, settings.discord_token, settings.generator_token,
              getattr(settings, "telegram_webhook_secret", None)]
    found = [v.get_secret_value() for v in values if v is not None]
    if settings.database_url:
        try:
            password = make_url(settings.database_url).password
        except Exception:  # unparsable: it may still hold a password, so the whole URL is secret
            found.append(settings.database_url)
        else:
            if password:
                found.append(str(password))
    return found


def redact(text: str, secrets: Iterable[str]) -> str:
    """text with each secret (6+ characters) replaced, for messages printed outside logging."""
    for secret in sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text
