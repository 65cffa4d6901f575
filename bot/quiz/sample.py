"""The quiz's fake rounds, written to files: `figment generate --quiz --count N --out DIR`.

The same source (the generator the bot loads, at the bot's precision), the same picking (best 1 of K
by the realness critic among faces the broken-face filter passes: the Curator the bot builds from
the same settings), the same truncations (FIGMENT_QUIZ_PSIS, in turn) and the same posted image
(bot.imaging.quiz_image at FIGMENT_POSTED_SIZE and the quiz's detail level), so anyone can measure
what players see. K is a parameter: the effective K of whatever fills the quiz. Two pickings:
- `quiz_fakes`: each face the best 1 of its own K (the curated pool, FIGMENT_CURATE_K, and the
  fallback of an empty face bank);
- `bank_fakes`: as the face bank shows them, the N best of N x K candidates the filter passes, best
  first: what a bank holds after N x K candidates (its effective K), drawn in its order.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np
from PIL import Image

from bot.imaging import PostedImage, quiz_image
from generator.curation.best_of_k import Curator, candidate_seeds
from generator.curation.picking import best_passing
from generator.interface import FaceModel


@dataclass(frozen=True)
class QuizFake:
    seed: int
    psi: float
    posted: PostedImage


def quiz_fakes(model: FaceModel, curator: Curator, first: int, count: int, psis: Sequence[float],
               size: int, detail: int) -> Iterator[QuizFake]:
    """Fake i: the pick of seeds first + i*K .. first + i*K + K - 1 at psis[i % len(psis)]."""
    for i in range(count):
        psi = psis[i % len(psis)]
        seeds = candidate_seeds(first + i * curator.k, curator.k)
        images = model.generate(seeds, psi)
        best, _ = curator.pick(images)
        yield QuizFake(seeds[best], psi, quiz_image(images[best], size, detail))


def bank_fakes(model: FaceModel, curator: Curator, first: int, count: int, k: int, psis: Sequence[float],
               size: int, detail: int, batch: int = 64) -> Iterator[QuizFake]:
    """Fake i at psis[i % len(psis)], as a face bank of each truncation shows them: for a truncation
    with m of the faces, the m best of m x k candidates (consecutive seeds from `first`, one block
    per truncation) that the broken-face filter passes, best first. Scores are kept, not pixels; the
    filter's candidates are made again, best-first, as the bank's maker checks them, and a picked
    face made for its check is posted as it is."""
    assert curator.critic is not None, "bank picking needs the realness critic"
    made: dict[tuple[int, float], Image.Image] = {}  # faces made for the filter, the picked ones kept

    def face(seed: int, psi: float) -> Image.Image:
        return made[(seed, psi)] if (seed, psi) in made else model.generate([seed], psi)[0]

    picked: list[list[int]] = []
    start = first
    for j, psi in enumerate(psis):
        share = len(range(j, count, len(psis)))
        seeds = list(range(start, start + share * k))
        start += share * k
        scores = np.concatenate([
            curator.critic.score(np.stack([np.asarray(image.convert("RGB"))
                                           for image in model.generate(seeds[i:i + batch], psi)]))
            for i in range(0, len(seeds), batch)]) if seeds else np.zeros(0, np.float32)
        passes = None
        if curator.face_filter is not None:
            face_filter = curator.face_filter

            def passes(index: int, psi: float = psi, seeds: list[int] = seeds) -> bool:
                image = model.generate([seeds[index]], psi)[0]
                if face_filter.check(image).passed:
                    made[(seeds[index], psi)] = image
                    return True
                return False
        chosen, _ = best_passing(scores, share, passes)
        if len(chosen) < share:
            raise ValueError(f"only {len(chosen)} of {len(seeds)} candidates at psi {psi:g} pass the broken-face "
                             f"filter, fewer than the {share} faces asked: use a larger K")
        picked.append([seeds[index] for index in chosen])
    for i in range(count):
        j = i % len(psis)
        seed = picked[j][i // len(psis)]
        yield QuizFake(seed, psis[j], quiz_image(face(seed, psis[j]), size, detail))
