"""A local fake of the Telegram Bot API for end-to-end tests of the real python-telegram-bot client."""
from tests.telegram_fake.server import Call, FakeBotApi, Fault

__all__ = ["Call", "FakeBotApi", "Fault"]
