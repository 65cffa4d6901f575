"""The small interface the rest of Figment uses to get faces.

A FaceModel turns seeds into images synchronously, in batches. A FaceSource is what the bot
awaits: the in-process batching service and the HTTP client both are FaceSources.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol, Sequence, runtime_checkable

from PIL import Image

MAX_SEED = 2**32 - 1
MIN_PSI, MAX_PSI = 0.0, 1.5
DEFAULT_PSI = 0.7


class GeneratorError(Exception):
    """Base of the errors a FaceSource raises; the message is safe to show a user."""


class GeneratorUnavailable(GeneratorError):
    """The generator cannot answer now (down, crashed, unreachable, timed out)."""


class GeneratorBusy(GeneratorError):
    """The request queue is full: try again in a moment."""


class InvalidRequest(GeneratorError, ValueError):
    """A seed or truncation outside the allowed range."""


class TooCostly(InvalidRequest):
    """Edits or a morph that would hold this machine's CPU too long (a large model on a CPU)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"that would take about {seconds:.0f} s of this machine's CPU, "
                         "more than an edit or a morph may")
        self.seconds = seconds


def check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise InvalidRequest(f"seed must be a whole number from 0 to {MAX_SEED}")
    return seed


def check_psi(psi: float) -> float:
    if isinstance(psi, bool) or not isinstance(psi, (int, float)) or not math.isfinite(psi):
        raise InvalidRequest(f"truncation must be a number from {MIN_PSI} to {MAX_PSI}")
    if not MIN_PSI <= psi <= MAX_PSI:
        raise InvalidRequest(f"truncation must be a number from {MIN_PSI} to {MAX_PSI}")
    return float(psi)


def check_request(seeds: Sequence[int], psi: float | Sequence[float]) -> tuple[list[int], list[float]]:
    """A batch's seeds and one truncation per seed, checked (one psi for all, or one each)."""
    checked = [check_seed(seed) for seed in seeds]
    if isinstance(psi, (list, tuple)):
        psis = [check_psi(p) for p in psi]
        if len(psis) != len(checked):
            raise InvalidRequest("give one truncation for the batch, or one per seed")
        return checked, psis
    return checked, [check_psi(psi)] * len(checked)  # check_psi rejects anything but a number


@dataclass(frozen=True)
class GeneratedFace:
    image: Image.Image
    seed: int
    psi: float
    model_version: str


@runtime_checkable
class FaceModel(Protocol):
    """Synchronous, batched: the same (seed, psi) always gives the same image.

    psi is one truncation for the whole batch, or one per seed.
    """

    model_version: str
    resolution: int

    def generate(self, seeds: Sequence[int], psi: float | Sequence[float]) -> list[Image.Image]: ...


@runtime_checkable
class FaceSource(Protocol):
    """What callers await. seed=None asks for any random face (a pool may serve it at once)."""

    model_version: str

    async def face(self, seed: int | None = None, psi: float = DEFAULT_PSI) -> GeneratedFace: ...
