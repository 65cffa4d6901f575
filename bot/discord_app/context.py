"""What the commands and buttons take from the running client: the core (`figment`).

client.py builds the command tree and registers the buttons, so they cannot import it back; they
name the one thing they need here (FigmentClient), and any client that holds the core fits.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from bot.app import Figment


class FigmentClient(Protocol):
    """A Discord client that holds Figment's core (client.FigmentBot is the one)."""

    figment: Figment
