"""Helpers shared by CLI commands: settings, clear errors instead of tracebacks."""
from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console

from bot.settings import Settings, get_settings

console = Console()
err_console = Console(stderr=True)


def settings() -> Settings:
    try:
        return get_settings()
    except Exception as error:  # pydantic's message names the bad variable
        fail(f"bad configuration: {error}")


def fail(message: str, code: int = 2) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)
