"""Multi-scale sliced Wasserstein distance of Laplacian-pyramid patches (ProGAN, Karras et al. 2018).

Per pyramid level (full size down to 16 px): 7x7 patches at random places, each set normalised
per colour channel by its own mean and deviation, then the Wasserstein distance along random
directions, averaged (x1000, as ProGAN reports it). Needs no pretrained network.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

_BINOMIAL = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16


def _blur(x: torch.Tensor) -> torch.Tensor:
    kernel = (_BINOMIAL[:, None] * _BINOMIAL[None, :]).to(x)[None, None].repeat(x.shape[1], 1, 1, 1)
    return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), kernel, groups=x.shape[1])


def laplacian_pyramid(x: torch.Tensor, smallest: int = 16) -> list[torch.Tensor]:
    levels = []
    while x.shape[-1] > smallest:
        small = F.avg_pool2d(_blur(x), 2)
        up = _blur(F.interpolate(small, scale_factor=2, mode="nearest"))
        levels.append(x - up)
        x = small
    levels.append(x)
    return levels


def _patches(level: torch.Tensor, per_image: int, size: int, generator: torch.Generator) -> torch.Tensor:
    n, c, h, w = level.shape
    ys = torch.randint(0, h - size + 1, (n, per_image), generator=generator)
    xs = torch.randint(0, w - size + 1, (n, per_image), generator=generator)
    offsets = torch.arange(size)
    rows = (ys[..., None] + offsets)[..., :, None].expand(n, per_image, size, size)
    cols = (xs[..., None] + offsets)[..., None, :].expand(n, per_image, size, size)
    batch = torch.arange(n)[:, None, None, None].expand_as(rows)
    patches = level.permute(0, 2, 3, 1)[batch, rows, cols]  # n x per_image x size x size x c
    return patches.reshape(n * per_image, size * size, c)


def _normalise(desc: torch.Tensor) -> torch.Tensor:
    mean = desc.mean(dim=(0, 1), keepdim=True)
    std = desc.std(dim=(0, 1), keepdim=True)
    return ((desc - mean) / (std + 1e-8)).reshape(desc.shape[0], -1)


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, directions: int, repeats: int,
                       generator: torch.Generator) -> float:
    results = []
    for _ in range(repeats):
        dirs = torch.randn(a.shape[1], directions, generator=generator)
        dirs /= dirs.norm(dim=0, keepdim=True)
        # numpy sorts contiguous rows several times faster than torch sorts columns on a CPU
        pa = np.sort((dirs.t() @ a.t()).numpy(), axis=1)
        pb = np.sort((dirs.t() @ b.t()).numpy(), axis=1)
        results.append(float(np.abs(pa - pb).mean()))
    return float(np.mean(results))


def swd(real: np.ndarray, fake: np.ndarray, patches_per_image: int = 128, patch: int = 7,
        directions: int = 128, repeats: int = 4, seed: int = 0, chunk: int = 256) -> dict[str, float]:
    """real, fake: N x H x W x 3 uint8 at the same size. Returns SWD x1e3 per level and the mean."""
    n = min(len(real), len(fake))
    if n < 2 or real.shape[1:] != fake.shape[1:]:
        raise ValueError("SWD needs two sets of at least 2 images of the same size")
    generator = torch.Generator().manual_seed(seed)

    def descriptors(images: np.ndarray) -> list[torch.Tensor]:
        per_level: list[list[torch.Tensor]] = []
        for start in range(0, n, chunk):
            x = torch.from_numpy(images[start:start + chunk]).permute(0, 3, 1, 2).float() / 127.5 - 1
            for index, level in enumerate(laplacian_pyramid(x)):
                if len(per_level) <= index:
                    per_level.append([])
                per_level[index].append(_patches(level, patches_per_image, patch, generator))
        return [_normalise(torch.cat(parts)) for parts in per_level]

    result = {}
    for index, (a, b) in enumerate(zip(descriptors(real[:n]), descriptors(fake[:n]))):
        side = real.shape[1] >> index
        result[f"swd_{side}"] = round(1e3 * sliced_wasserstein(a, b, directions, repeats, generator), 2)
    result["swd_avg"] = round(float(np.mean(list(result.values()))), 2)
    return result
