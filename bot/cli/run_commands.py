"""`figment run`: start the Telegram and/or Discord bot."""
from __future__ import annotations

import asyncio

from bot.cli.common import fail, settings
from bot.ops.server import MetricsPortError
from bot.ops.runner import NothingToRun, run_bots
from db.migrate import SchemaOutdated
from generator.interface import GeneratorError


def run() -> None:
    """Run the chat bots whose tokens are set (FIGMENT_TELEGRAM_TOKEN, FIGMENT_DISCORD_TOKEN)."""
    config = settings()
    try:
        asyncio.run(run_bots(config))
    except (NothingToRun, SchemaOutdated, MetricsPortError) as error:
        fail(str(error))
    except RuntimeError as error:  # a front-end that cannot start (refused token, API unreachable)
        fail(str(error))
    except GeneratorError as error:
        fail(f"the face generator could not start: {error}")
    except KeyboardInterrupt:
        pass
