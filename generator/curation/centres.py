"""Multi-modal truncation (Mokady et al. 2022, "Self-Distilled StyleGAN"): truncate each w toward
the nearest of a few k-means centres in W instead of toward the single mean w.

The mean w of a varied face set is one bland face; pulling every face toward it trades variety for
quality. Centres are the modes of W: pulling toward the nearest keeps each face's kind (age, pose,
lighting) while still leaving the sparse, broken edges of W.

Centres are made once per weights (`figment weights centres`, seconds on a CPU: only the mapping
network runs) and stored beside the weights as `<weights stem>.centres.safetensors`
(64 x w_dim fp32, 64 KB for the shipped model), with the model version they belong to.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

CENTRES_FORMAT = "figment-w-centres-v1"
DEFAULT_K = 64
DEFAULT_SAMPLES = 50_000
CENTRE_SEED_BASE = 3_500_000_000  # seeds far from the candidate, evaluation and critic ranges


class CentresError(ValueError):
    """The centres file cannot be used; the message names the file and why."""


def centres_path(weights: Path) -> Path:
    weights = Path(weights)
    if weights.is_dir():
        weights = weights / "generator.safetensors"
    return weights.with_name(weights.stem + ".centres.safetensors")


def kmeans(x: torch.Tensor, k: int, iterations: int = 30, seed: int = 0) -> torch.Tensor:
    """Lloyd's k-means with k-means++ starts; deterministic for a given seed."""
    generator = torch.Generator().manual_seed(seed)
    x = x.float()
    first = int(torch.randint(len(x), (1,), generator=generator))
    centres = [x[first]]
    nearest = torch.cdist(x, centres[0][None]).squeeze(1).square()
    for _ in range(1, k):
        index = int(torch.multinomial(nearest / nearest.sum(), 1, generator=generator))
        centres.append(x[index])
        nearest = torch.minimum(nearest, torch.cdist(x, x[index][None]).squeeze(1).square())
    c = torch.stack(centres)
    for _ in range(iterations):
        assign = torch.cdist(x, c).argmin(1)
        sums = torch.zeros_like(c).index_add_(0, assign, x)
        counts = torch.bincount(assign, minlength=k).float()[:, None]
        c = torch.where(counts > 0, sums / counts.clamp(min=1), c)  # an empty cluster keeps its centre
    return c


def compute_centres(model: Any, k: int = DEFAULT_K, samples: int = DEFAULT_SAMPLES, seed: int = 0) -> torch.Tensor:
    """k centres of the model's untruncated W, from `samples` seeds of a range nothing else uses."""
    first = CENTRE_SEED_BASE + seed * samples
    ws = torch.cat([model.mapped(list(range(start, min(start + 4096, first + samples))))
                    for start in range(first, first + samples, 4096)])
    return kmeans(ws, k, seed=seed)


def save_centres(path: Path, centres: torch.Tensor, model_version: str, samples: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    save_file({"centres": centres.float().contiguous()}, str(tmp),
              metadata={"format": CENTRES_FORMAT, "model_version": model_version, "samples": str(samples)})
    os.replace(tmp, path)


def load_centres(path: Path, model_version: str | None = None) -> torch.Tensor:
    """The centres at `path`; CentresError when missing, corrupt, or made for other weights."""
    path = Path(path)
    if not path.is_file():
        raise CentresError(f"no truncation centres at {path} (make them with `figment weights centres`)")
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
        centres = load_file(str(path))["centres"].float()
    except (SafetensorError, OSError, KeyError, RuntimeError) as error:
        raise CentresError(f"truncation centres file is corrupt: {path} ({error})") from error
    if metadata.get("format") != CENTRES_FORMAT or centres.ndim != 2:
        raise CentresError(f"not a Figment truncation centres file: {path}")
    if model_version is not None and metadata.get("model_version") != model_version:
        raise CentresError(f"the truncation centres at {path} were made for model {metadata.get('model_version')}, "
                           f"not {model_version}: make them again with `figment weights centres`")
    return centres


def truncate_to_centres(w: torch.Tensor, centres: torch.Tensor, psi: torch.Tensor) -> torch.Tensor:
    """Each w pulled toward its nearest centre: c + psi * (w - c). psi: one per row."""
    nearest = centres[torch.cdist(w.float(), centres).argmin(1)]
    return nearest.lerp(w.float(), psi.reshape(-1, 1).float())
