"""Helpers shared by CLI commands: settings, clear errors instead of tracebacks."""
from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console
from pydantic import ValidationError
from rich.markup import escape

from bot.ops.logging_setup import redact, secrets_of
from bot.settings import Settings, get_settings

console = Console()
err_console = Console(stderr=True)


def settings() -> Settings:
    try:
        return get_settings()
    except ValidationError as error:
        fail("bad configuration: " + "; ".join(setting_problems(error)))
    except Exception as error:
        fail(f"bad configuration: {error}")


def setting_problems(error: ValidationError) -> list[str]:
    """One line per bad setting, named as operators set it (FIGMENT_...), without pydantic's
    links and input dumps."""
    problems = []
    for item in error.errors():
        message = str(item.get("msg", "")).removeprefix("Value error, ")
        field = next((str(part) for part in item.get("loc", ()) if isinstance(part, str)), None)
        problems.append(f"FIGMENT_{field.upper()}: {message}" if field else message)
    return problems


def fail(message: str, code: int = 2) -> NoReturn:
    """Print a clear error and exit; secrets in the message (tokens, a database password) are masked."""
    try:
        message = redact(message, secrets_of(get_settings()))
    except Exception:  # the settings themselves are what is wrong: nothing to mask from them
        pass
    # escape: a message is plain text, and "[...]" in it must not be read as rich markup
    err_console.print("[bold red]error:[/] " + escape(message), highlight=False, soft_wrap=True)
    raise typer.Exit(code)
