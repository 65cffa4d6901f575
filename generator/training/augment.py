"""DiffAugment (Zhao et al. 2020): differentiable colour, translation and cutout, applied to real
and generated images alike before the discriminator, so a small data set does not let it memorise.

`augment` runs batched on the images' device with no host sync. `augment_loop` is the slow,
per-sample Python version, kept only as the "before" of the training throughput benchmark.
"""
from __future__ import annotations

import random

import torch

POLICIES = ("color", "translation", "cutout")


def parse_policy(text: str) -> tuple[str, ...]:
    parts = tuple(p.strip() for p in text.split(",") if p.strip() and p.strip() != "none")
    for part in parts:
        if part not in POLICIES:
            raise ValueError(f"unknown augmentation {part!r}; choose from {', '.join(POLICIES)} or none")
    return parts


def augment(x: torch.Tensor, policy: tuple[str, ...], translation: float = 0.125, cutout: float = 0.5) -> torch.Tensor:
    fmt = torch.channels_last if x.is_contiguous(memory_format=torch.channels_last) and x.shape[1] > 1 \
        else torch.contiguous_format
    if "color" in policy:
        x = _color(x)
    if "translation" in policy:
        x = _translate(x, translation)
    if "cutout" in policy:
        x = _cutout(x, cutout)
    return x.contiguous(memory_format=fmt)


def _rand(x: torch.Tensor) -> torch.Tensor:
    return torch.rand(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype)


def _color(x: torch.Tensor) -> torch.Tensor:
    x = x + (_rand(x) - 0.5)  # brightness
    mean = x.mean(1, keepdim=True)
    x = (x - mean) * (_rand(x) * 2) + mean  # saturation
    mean = x.mean([1, 2, 3], keepdim=True)
    return (x - mean) * (_rand(x) + 0.5) + mean  # contrast


def _translate(x: torch.Tensor, ratio: float) -> torch.Tensor:
    """Shift each image by up to ratio x size pixels, filling with zeros (gathers, no resampling)."""
    b, c, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-sh, sh + 1, (b, 1), device=x.device)
    dx = torch.randint(-sw, sw + 1, (b, 1), device=x.device)
    ys = torch.arange(h, device=x.device)[None] - dy  # b x h: source row of each output row
    xs = torch.arange(w, device=x.device)[None] - dx
    valid = ((ys >= 0) & (ys < h))[:, None, :, None] & ((xs >= 0) & (xs < w))[:, None, None, :]
    x = x.gather(2, ys.clamp(0, h - 1)[:, None, :, None].expand(b, c, h, w))
    x = x.gather(3, xs.clamp(0, w - 1)[:, None, None, :].expand(b, c, h, w))
    return x * valid.to(x.dtype)


def _cutout(x: torch.Tensor, ratio: float) -> torch.Tensor:
    """Zero one square of ratio x size at a random place in each image."""
    b, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h + (1 - ch % 2), (b, 1), device=x.device)
    cx = torch.randint(0, w + (1 - cw % 2), (b, 1), device=x.device)
    ys = torch.arange(h, device=x.device)[None]
    xs = torch.arange(w, device=x.device)[None]
    inside_y = (ys >= cy - ch // 2) & (ys < cy - ch // 2 + ch)
    inside_x = (xs >= cx - cw // 2) & (xs < cx - cw // 2 + cw)
    keep = ~(inside_y[:, None, :, None] & inside_x[:, None, None, :])
    return x * keep.to(x.dtype)


def augment_loop(x: torch.Tensor, policy: tuple[str, ...], translation: float = 0.125,
                 cutout: float = 0.5) -> torch.Tensor:
    """The same augmentations one image at a time, random numbers drawn in Python (benchmark only)."""
    out = []
    _, _, h, w = x.shape
    for img in x.unbind(0):
        if "color" in policy:
            img = img + (random.random() - 0.5)
            mean = img.mean(0, keepdim=True)
            img = (img - mean) * (random.random() * 2) + mean
            mean = img.mean()
            img = (img - mean) * (random.random() + 0.5) + mean
        if "translation" in policy:
            sh, sw = int(h * translation + 0.5), int(w * translation + 0.5)
            dy, dx = random.randint(-sh, sh), random.randint(-sw, sw)
            shifted = torch.zeros_like(img)
            shifted[:, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
                img[:, max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
            img = shifted
        if "cutout" in policy:
            ch, cw = int(h * cutout + 0.5), int(w * cutout + 0.5)
            cy, cx = random.randint(0, h - ch % 2), random.randint(0, w - cw % 2)
            mask = torch.ones_like(img[:1])
            mask[:, max(cy - ch // 2, 0):cy - ch // 2 + ch, max(cx - cw // 2, 0):cx - cw // 2 + cw] = 0
            img = img * mask
        out.append(img)
    return torch.stack(out)
