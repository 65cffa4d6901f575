"""Turn what users type into checked values, or a friendly UserError."""
from __future__ import annotations

from bot import texts
from bot.errors import UserError
from generator.interface import DEFAULT_PSI, check_psi, check_seed


def _blank(text: object) -> bool:
    return text is None or (isinstance(text, str) and not text.strip())


def parse_seed(text: str | int | None) -> int | None:
    """None for no seed; the generator's own check decides the range."""
    if _blank(text):
        return None
    try:
        return check_seed(int(str(text).strip()))
    except ValueError:  # not a whole number, or out of range (InvalidRequest is a ValueError)
        raise UserError(texts.later.bad_seed()) from None


def parse_psi(text: str | float | None) -> float:
    if _blank(text):
        return DEFAULT_PSI
    try:
        return check_psi(float(str(text).strip().replace(",", ".")))
    except ValueError:
        raise UserError(texts.later.bad_psi()) from None


def parse_count(text: str | int | None, *, default: int, low: int, high: int, error: str) -> int:
    if _blank(text):
        return default
    try:
        value = int(str(text).strip())
    except ValueError:
        raise UserError(error) from None
    if not low <= value <= high:
        raise UserError(error)
    return value
