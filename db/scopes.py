"""Where running totals are kept: a scope (global, or a chat) and a period (all time, or an ISO week)."""
from __future__ import annotations

from datetime import datetime

GLOBAL_SCOPE = "all"
ALL_TIME = "all"


def chat_scope(chat_id: int) -> str:
    return f"chat:{chat_id}"


def week_period(when: datetime) -> str:
    year, week, _ = when.isocalendar()
    return f"{year}-W{week:02d}"
