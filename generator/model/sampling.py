"""Seeds to images: the one path from seed and truncation to pixels, used by inference, training
sample grids and evaluation alike.

A seed drives a CPU torch.Generator that draws the latent z, so the same seed gives the same z on
any machine; inference uses the generator's fixed noise buffers ("const" noise), so the same
(seed, psi) gives the same face and psi=0 gives one average face for every seed.
"""
from __future__ import annotations

import contextlib
from typing import Sequence

import torch
from PIL import Image

from generator.model.networks import Generator


def seed_latents(seeds: Sequence[int], z_dim: int) -> torch.Tensor:
    rows = [torch.randn(z_dim, generator=torch.Generator().manual_seed(int(seed))) for seed in seeds]
    return torch.stack(rows) if rows else torch.empty(0, z_dim)


def autocast_for(device: torch.device, amp: bool):
    return torch.autocast(device.type, dtype=torch.bfloat16) if amp else contextlib.nullcontext()


@torch.no_grad()
def synthesize(G: Generator, z: torch.Tensor, psi: torch.Tensor, amp: bool = False,
               noise_mode: str = "const", chunk: int = 64) -> torch.Tensor:
    """z (N x z_dim) and psi (N) on any device -> uint8 images N x H x W x 3 on the CPU."""
    device = next(G.parameters()).device
    out = []
    for start in range(0, len(z), chunk):
        zc, pc = z[start:start + chunk].to(device), psi[start:start + chunk].to(device)
        with autocast_for(device, amp):
            img = G(zc, psi=pc, noise_mode=noise_mode)
        img = (img.float() * 127.5 + 128).clamp(0, 255).to(torch.uint8)
        out.append(img.permute(0, 2, 3, 1).cpu())
    return torch.cat(out) if out else torch.empty(0, G.cfg.resolution, G.cfg.resolution, 3, dtype=torch.uint8)


def to_pil(images: torch.Tensor) -> list[Image.Image]:
    return [Image.fromarray(row.contiguous().numpy(), "RGB") for row in images]


def save_small_png(image: Image.Image, path, max_bytes: int = 1_000_000) -> int:
    """Save a PNG of at most max_bytes (for the README): full colour if it fits, else 256 colours
    with dithering, else also smaller. Returns the size written."""
    import io

    candidates = [image, image.quantize(256, dither=Image.Dither.FLOYDSTEINBERG)]
    for scale in (0.75, 0.5):
        small = image.resize((round(image.width * scale), round(image.height * scale)), Image.LANCZOS)
        candidates.append(small.quantize(256, dither=Image.Dither.FLOYDSTEINBERG))
    for candidate in candidates:
        buffer = io.BytesIO()
        candidate.save(buffer, "PNG", optimize=True)
        if buffer.tell() <= max_bytes or candidate is candidates[-1]:
            with open(path, "wb") as handle:
                handle.write(buffer.getvalue())
            return buffer.tell()
    raise AssertionError("unreachable")


def image_grid(images: Sequence[Image.Image], cols: int = 8) -> Image.Image:
    if not images:
        raise ValueError("no images for the grid")
    w, h = images[0].size
    rows = (len(images) + cols - 1) // cols
    grid = Image.new("RGB", (w * cols, h * rows))
    for i, image in enumerate(images):
        grid.paste(image, ((i % cols) * w, (i // cols) * h))
    return grid
