"""A morph: faces along the straight line in W from one seed's w to another's and back.

W is where StyleGAN's interpolations look like faces all the way (Karras et al. 2019, perceptual
path length); going there and back makes a loop without a jump, and easing (smoothstep) lets each
end face hold a moment.
"""
from __future__ import annotations

import torch
from PIL import Image

from generator.editing.latents import Latents

MIN_FRAMES, MAX_FRAMES = 24, 60


def morph_weights(frames: int) -> torch.Tensor:
    """frames blend weights: 0 (seed A) up to 1 (seed B) at the middle and back, eased, so the
    last frame leads into the first."""
    if not MIN_FRAMES <= frames <= MAX_FRAMES:
        raise ValueError(f"a morph has {MIN_FRAMES} to {MAX_FRAMES} frames")
    u = torch.arange(frames, dtype=torch.float32) * (2.0 / frames)
    t = 1.0 - (1.0 - u).abs()  # a triangle: 0 .. 1 .. just above 0
    return t * t * (3 - 2 * t)  # smoothstep


def morph_frames(model: Latents, seed_a: int, seed_b: int, psi: float, frames: int) -> list[Image.Image]:
    """The morph's frames at the generator's resolution."""
    w = model.w_of([seed_a, seed_b], psi)
    weights = morph_weights(frames).reshape(-1, 1)
    return model.render(torch.lerp(w[0:1].expand(len(weights), -1), w[1:2].expand(len(weights), -1), weights))
