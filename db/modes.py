"""Game modes. Each mode keeps its own running scores: a pair round (which of two faces is
real) is easier than a single one, so mixing them would make both accuracies meaningless.
A mode's scores live under its own scope names ('pairs:all', 'pairs:chat:7'), so the boards
and stats of a mode are the same indexed reads as those of the single-image game."""
from __future__ import annotations

SINGLE = "single"  # one image: real photo or AI fake?
PAIRS = "pairs"  # two faces side by side, one real: which one?
MODES = (SINGLE, PAIRS)


def scoped(scope: str, mode: str) -> str:
    """The score scope of `scope` ('all' or 'chat:<id>') for a mode; single keeps the plain name."""
    return scope if mode == SINGLE else f"{mode}:{scope}"
