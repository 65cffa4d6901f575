"""How well the directions edit: on fresh seeds (not those the directions learnt from), each edit
as /face makes it, read back by the same classifiers.

- moved: the share of edits whose classifier reading moved the asked way (older: the age model
  reads more years; smile: the landmark smile score grows).
- identity: dlib 128-d distance between the face and its edit; the share under 0.6, dlib's
  same-person threshold.
- side effect: how much the other attribute moved (conditional directions should keep it).
- FD_face (x100) of the edited faces against the unedited ones.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from generator.editing.attributes import AgeModel, FaceReader
from generator.editing.directions import Directions
from generator.editing.latents import Latents
from generator.evaluation.frechet import frechet_distance

AGE_STEP, SMILE_SPREADS = 15.0, 2.0  # what /face older|younger|smile|serious do (bot.edits)
SAME_PERSON = 0.6


def edits(directions: Directions) -> dict[str, Callable[[torch.Tensor], torch.Tensor]]:
    age, smile = directions.items["age"], directions.items["smile"]
    return {
        "older": lambda w: age.moved(w, age.steps_for(AGE_STEP)),
        "younger": lambda w: age.moved(w, age.steps_for(-AGE_STEP)),
        "smile": lambda w: smile.moved(w, SMILE_SPREADS * smile.spread),
        "serious": lambda w: smile.moved(w, -SMILE_SPREADS * smile.spread),
    }


def read_all(model: Latents, reader: FaceReader, w: torch.Tensor, age_model: AgeModel
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    readings = [reader.read(image) for image in model.render(w)]
    embeddings = np.stack([r.embedding for r in readings])
    return embeddings, age_model.predict(embeddings), np.array([r.smile for r in readings])


def measure(model: Latents, directions: Directions, age_model: AgeModel, seeds: list[int], psi: float,
            progress: Callable[[str], None] = print) -> dict[str, dict[str, float]]:
    reader = FaceReader()
    w = model.w_of(seeds, psi)
    base_emb, base_age, base_smile = read_all(model, reader, w, age_model)
    results: dict[str, dict[str, float]] = {}
    for name, edit in edits(directions).items():
        emb, age, smile = read_all(model, reader, edit(w), age_model)
        sign = 1.0 if name in ("older", "smile") else -1.0
        asked, other = (age - base_age, smile - base_smile) if name in ("older", "younger") \
            else (smile - base_smile, age - base_age)
        distance = np.linalg.norm(emb - base_emb, axis=1)
        results[name] = {
            "faces": float(len(seeds)),
            "moved_share": float(np.mean(asked * sign > 0)),
            "mean_change": float(np.mean(asked)),
            "other_mean_change": float(np.mean(other)),
            "identity_mean": float(distance.mean()),
            "identity_same_share": float(np.mean(distance < SAME_PERSON)),
            "fd_face_x100": 100 * frechet_distance(emb, base_emb),
        }
        progress(f"{name}: {results[name]}")
    return results
