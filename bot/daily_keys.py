"""How a daily round is named in a button: its day and its number ("20261201:3"), nothing more.

Every front-end puts this key in its buttons (Telegram callback data, Discord custom ids, the
playground's answer requests), so a button from yesterday still says which day it belonged to,
and the core can answer it kindly. The truth is never in it.
"""
from __future__ import annotations

import re
from datetime import date

_KEY = re.compile(r"(\d{4})(\d{2})(\d{2}):(\d{1,2})")
KEY_PATTERN = r"[0-9]{8}:[0-9]{1,2}"  # for front-ends that match a whole button id


def round_key(day: date, number: int) -> str:
    return f"{day:%Y%m%d}:{number}"


def parse_round_key(text: object) -> tuple[date, int] | None:
    """(day, round number) from a key, or None for anything that is not one (a made-up date too)."""
    match = _KEY.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        return None
    year, month, day, number = (int(part) for part in match.groups())
    try:
        return date(year, month, day), number
    except ValueError:
        return None
