"""The data-copying test of Meehan, Chaudhuri and Dasgupta (2020), plus a count of near copies.

For each generated face and each held-out real face: the distance to its nearest training face.
A model that copies its training data makes faces closer to the training set than new real faces
are. Per cell of a k-means partition of the training set, a Mann-Whitney U test compares the two
sets of distances (Z_U < 0: generated faces are closer); C_T is the average of the cells' Z_U,
weighted by the share of held-out faces in each cell, over cells with enough generated faces.
Z_U and C_T are standard-normal-like under "no copying": we call C_T < -2 copying.
"""
from __future__ import annotations

import numpy as np
import torch

COPYING_THRESHOLD = -2.0


def nearest_distances(queries: np.ndarray, train: np.ndarray, chunk: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean distance from each query to its nearest training vector, and that vector's index.

    The matmul form |q|^2 + |t|^2 - 2 q.t finds the nearest vector fast, but its value cancels
    catastrophically: two float32 sums of ~1,000 in different orders (the matmul's blocking depends on
    the CPU's vector units) leave ~1e-3 where the true distance is 0. So the distance to the chosen
    vector is computed again from the difference itself: identical vectors give exactly 0 on any CPU.
    """
    t = torch.from_numpy(np.asarray(train, dtype=np.float32))
    t_sq = (t * t).sum(1)
    dists, index = [], []
    for start in range(0, len(queries), chunk):
        q = torch.from_numpy(np.asarray(queries[start:start + chunk], dtype=np.float32))
        d2 = (q * q).sum(1, keepdim=True) + t_sq[None] - 2 * q @ t.t()
        where = d2.argmin(1)
        exact = (q.double() - t[where].double()).pow(2).sum(1)
        dists.append(exact.sqrt().float().numpy())
        index.append(where.numpy())
    return np.concatenate(dists), np.concatenate(index)


def mann_whitney_z(generated: np.ndarray, heldout: np.ndarray) -> float:
    """Z of U = #(generated distance > held-out distance) + ties/2; negative: generated are closer."""
    m, n = len(generated), len(heldout)
    ranks = _average_ranks(np.concatenate([generated, heldout]))
    u = ranks[:m].sum() - m * (m + 1) / 2
    mean, var = m * n / 2, m * n * (m + n + 1) / 12
    return float((u - mean) / np.sqrt(var)) if var > 0 else 0.0


def _average_ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(1, len(values) + 1)
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    return sums[inverse] / counts[inverse]


def kmeans(points: np.ndarray, k: int, iterations: int = 25, seed: int = 0) -> np.ndarray:
    """Centres of k clusters (Lloyd's algorithm, k-means++ start)."""
    rng = np.random.default_rng(seed)
    points = np.asarray(points, dtype=np.float32)
    centres = [points[rng.integers(len(points))]]
    for _ in range(1, k):
        d, _ = nearest_distances(points, np.stack(centres))
        weights = d ** 2
        centres.append(points[rng.choice(len(points), p=weights / weights.sum())] if weights.sum() > 0
                       else points[rng.integers(len(points))])
    centres = np.stack(centres)
    for _ in range(iterations):
        _, label = nearest_distances(points, centres)
        for j in range(k):
            if (label == j).any():
                centres[j] = points[label == j].mean(0)
    return centres


def data_copying(train: np.ndarray, heldout: np.ndarray, generated: np.ndarray, cells: int | None = None,
                 min_cell: int = 10, seed: int = 0) -> dict[str, float | int | bool]:
    """Meehan et al.'s C_T (and the global Z_U) in one feature space."""
    d_held, _ = nearest_distances(heldout, train)
    d_gen, _ = nearest_distances(generated, train)
    if cells is None:
        cells = int(np.clip(len(heldout) // 100, 1, 20))
    centres = kmeans(train, cells, seed=seed)
    _, cell_held = nearest_distances(heldout, centres)
    _, cell_gen = nearest_distances(generated, centres)
    weights, scores = [], []
    for j in range(cells):
        h, g = d_held[cell_held == j], d_gen[cell_gen == j]
        if len(h) >= min_cell and len(g) >= min_cell:
            weights.append(len(h))
            scores.append(mann_whitney_z(g, h))
    c_t = float(np.average(scores, weights=weights)) if scores else float("nan")
    return {"C_T": round(c_t, 3), "Z_U": round(mann_whitney_z(d_gen, d_held), 3), "cells": cells,
            "cells_used": len(scores), "median_nn_generated": round(float(np.median(d_gen)), 4),
            "median_nn_heldout": round(float(np.median(d_held)), 4),
            "passed": bool(np.isfinite(c_t) and c_t >= COPYING_THRESHOLD)}


def pixel_features(images: np.ndarray, side: int = 32) -> np.ndarray:
    """Downsampled pixels in [0, 1] (area averaging), flattened."""
    x = torch.from_numpy(np.asarray(images)).permute(0, 3, 1, 2).float() / 255
    x = torch.nn.functional.adaptive_avg_pool2d(x, side)
    return x.reshape(len(images), -1).numpy()


def near_copies(train_pixels: np.ndarray, generated_pixels: np.ndarray, rms: float) -> tuple[int, np.ndarray]:
    """Generated faces within an RMS pixel difference of `rms` of a training face: literal copies."""
    d, index = nearest_distances(generated_pixels, train_pixels)
    d_rms = d / np.sqrt(train_pixels.shape[1])
    return int((d_rms < rms).sum()), d_rms
