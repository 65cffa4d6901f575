"""The Telegram front-end (python-telegram-bot): `await serve(figment, token, stop, **options)`."""
from bot.telegram_app.lifecycle import TelegramOptions, TelegramStartError, options_from_settings, serve

__all__ = ["TelegramOptions", "TelegramStartError", "options_from_settings", "serve"]
