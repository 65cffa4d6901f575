"""Curated (best-of-K) sampling: make K candidate faces, show the one the realness critic likes best.

Deterministic: the candidates of a curated face are K consecutive seeds from a seed sequence, and
the pick is the highest critic score (the first candidate on a tie) among the candidates the
broken-face filter passes (when the curator has one), so the same seed sequence
gives the same faces. The face shown keeps its own seed: `/face SEED` makes it again, uncurated.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from PIL import Image

from generator.curation.critic import Critic
from generator.curation.face_filter import FaceFilter
from generator.interface import MAX_SEED, FaceModel, InvalidRequest

MAX_SELECT = 64


@dataclass(frozen=True)
class Curator:
    """A critic and how many candidates each shown face is picked from (k=1: no curation)."""

    critic: Critic | None
    k: int
    face_filter: FaceFilter | None = None  # the broken-face filter (generator/curation/face_filter.py)

    def __post_init__(self) -> None:
        check_k(self.k)
        if self.k > 1 and self.critic is None:
            raise ValueError("best-of-K sampling with K > 1 needs a critic")

    def pick(self, images: Sequence[Image.Image]) -> tuple[int, float]:
        """Index and score of the most real-looking candidate that the face filter passes, checked
        best-first (so the filter runs on about one face); the best score when none passes, the
        first candidate when k == 1."""
        if self.critic is None or len(images) == 1:
            return 0, float("nan")
        scores = self.critic.score(np.stack([np.asarray(image.convert("RGB")) for image in images]))
        order = np.argsort(-scores, kind="stable")  # the first of equal scores comes first
        best = int(order[0])
        if self.face_filter is not None:
            best = next((int(i) for i in order if self.face_filter.check(images[int(i)]).passed), best)
        return best, float(scores[best])


def check_k(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_SELECT:
        raise InvalidRequest(f"the number of candidates must be a whole number from 1 to {MAX_SELECT}")
    return k


def candidate_seeds(first: int, k: int) -> list[int]:
    """The K candidates of one curated face: first, first+1, ..., first+K-1 (all valid seeds)."""
    if not 0 <= first <= MAX_SEED - k + 1:
        raise InvalidRequest(f"a curated face's first seed must be from 0 to {MAX_SEED - k + 1}")
    return list(range(first, first + k))


def curated_faces(model: FaceModel, curator: Curator, firsts: Sequence[int],
                  psi: float) -> list[tuple[int, Image.Image]]:
    """One curated face per first seed: (the winning seed, its image). Synchronous, for the tools."""
    out = []
    for first in firsts:
        seeds = candidate_seeds(first, curator.k)
        images = model.generate(seeds, psi)
        best, _ = curator.pick(images)
        out.append((seeds[best], images[best]))
    return out
