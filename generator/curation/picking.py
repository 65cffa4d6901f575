"""Picking faces: make candidates, score them, keep the best that is not broken.

One place for what the quiz shows, the face bank fills with, and `figment generate --quiz` writes:
- a candidate is (seed, psi, mode): `make_faces` makes its face again, exactly, from those three
  (mode "mean": classic truncation, the face `/face SEED` shows; "centres": multi-modal truncation
  toward the nearest k-means centre in W, generator/curation/centres.py);
- its score is the realness critic's logit (generator/curation/critic.py);
- the broken-face filter (generator/curation/face_filter.py) vetoes faces dlib cannot read as faces.

Deterministic: the same seeds, psi, mode and weights give the same candidates and the same pick
(floats may differ in the last bits across CPUs and batch sizes, never the order of a clear pick).
Nothing here uses the evaluation's features (dlib identity embeddings, the fresh classifier, SWD).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from PIL import Image

from generator.curation.centres import CentresError, centres_path, load_centres, truncate_to_centres
from generator.curation.critic import Critic, load_critic
from generator.curation.face_filter import FaceFilter
from generator.interface import InvalidRequest, check_request

TRUNCATION_MODES = ("mean", "centres")

# What the quiz shows (chosen from the measurements in docs/generator.md, "Better picking").
QUIZ_PSI = 1.0  # the default of FIGMENT_QUIZ_PSIS
QUIZ_MODE = "mean"
QUIZ_K = 8  # effective K: candidates made per face shown
QUIZ_FILTER = True


@dataclass(frozen=True)
class Candidate:
    seed: int
    psi: float
    mode: str
    score: float  # the critic's realness logit: higher looks more real
    passed_filter: bool | None  # None: not checked


@dataclass
class Picker:
    """What picking needs besides the generator, loaded once per model."""

    critic: Critic
    face_filter: FaceFilter | None = None
    centres: torch.Tensor | None = None


def load_picker(model: Any, *, critic_path: Path | None = None, use_filter: bool = True,
                weights: Path | None = None) -> Picker:
    """The critic (the shipped one unless a path), the face filter, and the truncation centres stored
    beside the weights (None when there are none for this model: mode "centres" is then refused)."""
    from generator.loading import DEFAULT_WEIGHTS

    try:
        centres = load_centres(centres_path(weights or DEFAULT_WEIGHTS), model.model_version)
    except CentresError:
        centres = None
    return Picker(load_critic(critic_path), FaceFilter() if use_filter else None, centres)


def check_mode(mode: str, picker: Picker | None) -> str:
    if mode not in TRUNCATION_MODES:
        raise InvalidRequest(f"truncation mode must be one of {', '.join(TRUNCATION_MODES)}, not {mode!r}")
    if mode == "centres" and (picker is None or picker.centres is None):
        raise InvalidRequest("truncation mode 'centres' needs the centres file beside the weights "
                             "(make it with `figment weights centres`)")
    return mode


def make_faces(model: Any, seeds: Sequence[int], psi: float, *, mode: str = "mean",
               picker: Picker | None = None) -> list[Image.Image]:
    """The faces of candidates (seed, psi, mode), exactly as they were scored."""
    check_mode(mode, picker)
    seeds, psis = check_request(list(seeds), psi)
    if mode == "mean" or not seeds:
        return model.generate(seeds, psi)
    assert picker is not None and picker.centres is not None
    w = truncate_to_centres(model.mapped(seeds), picker.centres, torch.tensor(psis))
    return model.synthesize_w(w)


def _pixels(images: Sequence[Image.Image]) -> np.ndarray:
    return np.stack([np.asarray(image.convert("RGB")) for image in images])


def score_images(model: Any, seeds: Sequence[int], psi: float, mode: str,
                 picker: Picker) -> tuple[list[Image.Image], np.ndarray]:
    images = make_faces(model, seeds, psi, mode=mode, picker=picker)
    return images, picker.critic.score(_pixels(images)) if images else np.zeros(0, np.float32)


def score_candidates(model: Any, seeds: Sequence[int], psi: float, *, mode: str = "mean",
                     picker: Picker, filter_top: int | None = None) -> list[Candidate]:
    """One Candidate per seed, in order. filter_top=None filters all (when the picker has a filter);
    filter_top=n only the n best by score (others: passed_filter None). CPU-bound: run in a thread."""
    images, scores = score_images(model, seeds, psi, mode, picker)
    checked: dict[int, bool] = {}
    if picker.face_filter is not None:
        order = np.argsort(-scores, kind="stable")
        for index in order[:len(order) if filter_top is None else max(0, filter_top)]:
            checked[int(index)] = picker.face_filter.check(images[index]).passed
    return [Candidate(int(seed), float(psi), mode, float(score), checked.get(i))
            for i, (seed, score) in enumerate(zip(seeds, scores))]


def best_of(candidates: Sequence[Candidate]) -> Candidate:
    """The highest score not failed by the filter (the first on a tie); the highest score at all when
    every candidate failed."""
    if not candidates:
        raise ValueError("no candidates to pick from")
    kept = [c for c in candidates if c.passed_filter is not False] or list(candidates)
    return max(kept, key=lambda c: c.score)  # max keeps the first of equal scores


def best_passing(scores: np.ndarray, count: int,
                 passes: Callable[[int], bool] | None = None) -> tuple[list[int], int]:
    """The `count` highest scores whose candidates pass the filter, checked best-first (the first
    of equal scores first): what a bank of capacity `count` holds after these candidates, as it keeps
    the best scores and never a face the filter failed. Indices best first, and the checks made."""
    chosen, checks = [], 0
    for index in np.argsort(-np.asarray(scores), kind="stable"):
        if len(chosen) == count:
            break
        if passes is not None:
            checks += 1
            if not passes(int(index)):
                continue
        chosen.append(int(index))
    return chosen, checks


def pick_one(model: Any, seeds: Sequence[int], psi: float, *, mode: str = "mean",
             picker: Picker) -> tuple[Candidate, Image.Image]:
    """The shown face of one group of candidates: the best score whose face passes the filter,
    checked best-first so the filter runs on about one face, not all K."""
    images, scores = score_images(model, seeds, psi, mode, picker)
    order = [int(i) for i in np.argsort(-scores, kind="stable")]
    chosen, passed = order[0], None
    if picker.face_filter is not None:
        passed = False
        for index in order:
            if picker.face_filter.check(images[index]).passed:
                chosen, passed = index, True
                break
    return Candidate(int(seeds[chosen]), float(psi), mode, float(scores[chosen]), passed), images[chosen]


def quiz_faces(model: Any, picker: Picker, first: int, count: int, k: int = QUIZ_K, psi: float = QUIZ_PSI,
               mode: str = QUIZ_MODE) -> list[tuple[Candidate, Image.Image]]:
    """`count` shown faces, face i the pick of seeds first + i*k .. first + i*k + k - 1."""
    return [pick_one(model, list(range(first + i * k, first + (i + 1) * k)), psi, mode=mode, picker=picker)
            for i in range(count)]
