"""Learning attribute directions in W (InterFaceGAN, Shen et al. 2020), in three resumable steps:

1. `read_photos`: the age model, from labelled photos (80 % to fit, 20 % held out to measure).
2. `sample_shard`: generated faces, their w and what the reader sees in them (embedding, smile),
   one shard per job so no job runs longer than a few minutes of CPU.
3. `learn`: per attribute, a linear classifier in W between the faces that show it most and least
   (the top and bottom 30 %, as InterFaceGAN); its unit normal is the direction. Conditional
   directions: each normal with the other attribute's projected out, so ageing keeps the smile.
   Each direction also gets a scale: how much the attribute moves per unit step in W (a least-squares
   fit of the attribute on the projection), which turns "age 70" into a step length.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from generator.editing.attributes import AgeModel, FaceReader, labelled_photos
from generator.editing.latents import Latents

Progress = Callable[[str], None]


def read_photos(folders: Sequence[Path], limit: int, seed: int = 0, progress: Progress = print
                ) -> dict[str, np.ndarray]:
    """Embeddings and ages of up to `limit` labelled photos (a seeded sample over all folders)."""
    photos = list(labelled_photos(folders))
    rng = np.random.default_rng(seed)
    picked = [photos[i] for i in sorted(rng.permutation(len(photos))[:limit])]
    reader = FaceReader()
    embeddings, ages, names = [], [], []
    started = time.perf_counter()
    for index, (path, age) in enumerate(picked, 1):
        from PIL import Image

        with Image.open(path) as image:
            reading = reader.read(image.convert("RGB"), fallback=False)
        if reading is not None:
            embeddings.append(reading.embedding)
            ages.append(age)
            names.append(path.name)
        if index % 500 == 0:
            progress(f"{index}/{len(picked)} photos read, {len(ages)} faces found, "
                     f"{time.perf_counter() - started:.0f} s")
    return {"embeddings": np.stack(embeddings), "ages": np.asarray(ages, np.float64), "names": np.asarray(names)}


def split_age_model(photos: dict[str, np.ndarray], held_out: float = 0.2, seed: int = 0
                    ) -> tuple[AgeModel, dict[str, float]]:
    """The age model fit on 80 % of the photos, and how it reads the other 20 %."""
    count = len(photos["ages"])
    order = np.random.default_rng(seed).permutation(count)
    test, train = order[:int(count * held_out)], order[int(count * held_out):]
    model = AgeModel.fit(photos["embeddings"][train], photos["ages"][train])
    return model, age_metrics(model, photos["embeddings"][test], photos["ages"][test])


def age_metrics(model: AgeModel, embeddings: np.ndarray, ages: np.ndarray) -> dict[str, float]:
    """Mean absolute error, and accuracy at telling the young (under 30) from the old (45 and up)."""
    predicted = model.predict(embeddings)
    young, old = ages < 30, ages >= 45
    both = young | old
    threshold = 37.5  # halfway between the two groups' edges
    right = (predicted[both] >= threshold) == old[both]
    return {"held_out": float(len(ages)), "mae_years": float(np.abs(predicted - ages).mean()),
            "young_vs_old_accuracy": float(right.mean()), "young_vs_old_count": float(both.sum())}


def sample_shard(model: Latents, start: int, count: int, psi: float, progress: Progress = print,
                 batch: int = 16) -> dict[str, np.ndarray]:
    """Faces of seeds start .. start+count-1: w, embedding, smile, detected."""
    reader = FaceReader()
    ws, embeddings, smiles, detected = [], [], [], []
    started = time.perf_counter()
    for first in range(start, start + count, batch):
        seeds = list(range(first, min(first + batch, start + count)))
        w = model.w_of(seeds, psi)
        for image in model.render(w):
            reading = reader.read(image)
            embeddings.append(reading.embedding)
            smiles.append(reading.smile)
            detected.append(reading.detected)
        ws.append(w.numpy())
        done = first + len(seeds) - start
        if done % (batch * 25) == 0 or done == count:
            progress(f"{done}/{count} faces, {time.perf_counter() - started:.0f} s")
    return {"seeds": np.arange(start, start + count), "w": np.concatenate(ws), "embeddings": np.stack(embeddings),
            "smile": np.asarray(smiles), "detected": np.asarray(detected), "psi": np.array(psi)}


def load_shards(folder: Path) -> dict[str, np.ndarray]:
    shards = [dict(np.load(path)) for path in sorted(Path(folder).glob("shard-*.npz"))]
    if not shards:
        raise FileNotFoundError(f"no shard-*.npz in {folder}: run the sample step first")
    return {key: np.concatenate([s[key] for s in shards]) for key in ("seeds", "w", "embeddings", "smile", "detected")}


def logistic_normal(x: np.ndarray, labels: np.ndarray, steps: int = 300, l2: float = 1e-3) -> np.ndarray:
    """The unit normal of a logistic-regression boundary (a linear classifier, as InterFaceGAN's
    linear SVM), fit by Newton steps on standardised inputs; returned in the inputs' own units."""
    mean, std = x.mean(0), x.std(0) + 1e-8
    z = (x - mean) / std
    z1 = np.hstack([z, np.ones((len(z), 1))])
    theta = np.zeros(z1.shape[1])
    y = labels.astype(np.float64)
    for _ in range(min(steps, 25)):  # Newton converges in a handful of steps
        p = 1 / (1 + np.exp(-np.clip(z1 @ theta, -30, 30)))
        grad = z1.T @ (p - y) / len(y) + l2 * np.r_[theta[:-1], 0]
        hess = (z1 * (p * (1 - p))[:, None]).T @ z1 / len(y) + l2 * np.eye(len(theta))
        theta -= np.linalg.solve(hess, grad)
    normal = theta[:-1] / std  # back to w's units: the boundary is normal . w + b = 0
    return normal / np.linalg.norm(normal)


def split_accuracy(x: np.ndarray, labels: np.ndarray, seed: int = 0) -> float:
    """Held-out accuracy of the linear classifier (fit on 80 %, scored on 20 %)."""
    order = np.random.default_rng(seed).permutation(len(x))
    test, train = order[:len(x) // 5], order[len(x) // 5:]
    normal = logistic_normal(x[train], labels[train])
    projection = x @ normal
    cut = (projection[train][labels[train]].mean() + projection[train][~labels[train]].mean()) / 2
    return float(((projection[test] > cut) == labels[test]).mean())


def extremes(scores: np.ndarray, share: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the lowest and highest `share` of scores (InterFaceGAN's positive and negative sets)."""
    order = np.argsort(scores)
    count = int(len(scores) * share)
    return order[:count], order[-count:]


def learn(samples: dict[str, np.ndarray], age_model: AgeModel) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Conditional unit directions in W for 'age' and 'smile', and their scales and accuracies."""
    w = samples["w"].astype(np.float64)
    scores = {"age": age_model.predict(samples["embeddings"]), "smile": samples["smile"].astype(np.float64)}
    normals, info = {}, {}
    for name, score in scores.items():
        low, high = extremes(score)
        x = np.concatenate([w[low], w[high]])
        labels = np.r_[np.zeros(len(low), bool), np.ones(len(high), bool)]
        normals[name] = logistic_normal(x, labels)
        info[f"{name}_boundary_accuracy"] = split_accuracy(x, labels)
    directions = {}
    for name, other in (("age", "smile"), ("smile", "age")):
        a, b = normals[name], normals[other]
        conditional = a - (a @ b) * b  # the other attribute's normal projected out
        directions[name] = conditional / np.linalg.norm(conditional)
        info[f"{name}_{other}_cosine"] = float(a @ b)
        projection = w @ directions[name]
        slope, intercept = np.polyfit(projection, scores[name], 1)  # attribute per unit step along it
        info[f"{name}_per_unit"] = float(slope)
        info[f"{name}_intercept"] = float(intercept)
        info[f"{name}_std"] = float(np.std(projection))
    info["samples"] = float(len(w))
    return directions, info
