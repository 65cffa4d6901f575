"""The quiz's fake rounds, written to files: `figment generate --quiz --count N --out DIR`.

The same source (the generator the bot loads, at the bot's precision), the same picking (best 1 of K
by the realness critic among faces the broken-face filter passes: the Curator the bot builds from
the same settings), the same truncations (FIGMENT_QUIZ_PSIS, in turn) and the same posted image
(bot.imaging.quiz_image at FIGMENT_POSTED_SIZE and the quiz's detail level), so anyone can measure
what players see. K is a parameter: the effective K of whatever fills the quiz (today the curated
pool's FIGMENT_CURATE_K; a bank that keeps the best of many candidates passes its own).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Sequence

from bot.imaging import PostedImage, quiz_image
from generator.curation.best_of_k import Curator, candidate_seeds
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
