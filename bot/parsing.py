"""Turn what users type into checked values, or a friendly UserError."""
from __future__ import annotations

import math

from bot import texts
from bot.errors import UserError
from generator.interface import DEFAULT_PSI, MAX_PSI, MAX_SEED, MIN_PSI


def parse_seed(text: str | int | None) -> int | None:
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    try:
        seed = int(str(text).strip())
    except ValueError:
        raise UserError(texts.BAD_SEED) from None
    if not 0 <= seed <= MAX_SEED:
        raise UserError(texts.BAD_SEED)
    return seed


def parse_psi(text: str | float | None) -> float:
    if text is None or (isinstance(text, str) and not text.strip()):
        return DEFAULT_PSI
    try:
        psi = float(str(text).strip().replace(",", "."))
    except ValueError:
        raise UserError(texts.BAD_PSI) from None
    if not math.isfinite(psi) or not MIN_PSI <= psi <= MAX_PSI:
        raise UserError(texts.BAD_PSI)
    return psi


def parse_count(text: str | int | None, *, default: int, low: int, high: int, error: str) -> int:
    if text is None or (isinstance(text, str) and not text.strip()):
        return default
    try:
        value = int(str(text).strip())
    except ValueError:
        raise UserError(error) from None
    if not low <= value <= high:
        raise UserError(error)
    return value
