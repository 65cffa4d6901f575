"""A test face model: draws a simple, seeded picture with Pillow. Only for tests."""
from __future__ import annotations

import random
import threading
from typing import Sequence

from PIL import Image, ImageDraw


class DrawnFaceModel:
    """Same (seed, psi) gives the same picture; psi scales how far colours stray from grey."""

    model_version = "test-drawn-1"

    def __init__(self, resolution: int = 64, fail_on_seed: int | None = None) -> None:
        self.resolution = resolution
        self.fail_on_seed = fail_on_seed
        self.calls: list[tuple[tuple[int, ...], tuple[float, ...]]] = []

    def generate(self, seeds: Sequence[int], psi: float | Sequence[float]) -> list[Image.Image]:
        psis = [float(psi)] * len(seeds) if isinstance(psi, (int, float)) else [float(p) for p in psi]
        self.calls.append((tuple(seeds), tuple(psis)))
        if self.fail_on_seed is not None and self.fail_on_seed in seeds:
            raise RuntimeError(f"model failed on seed {self.fail_on_seed}")
        return [self._draw(seed, p) for seed, p in zip(seeds, psis)]

    def _draw(self, seed: int, psi: float) -> Image.Image:
        rng = random.Random(seed)
        size = self.resolution

        def colour() -> tuple[int, int, int]:
            return tuple(int(128 + psi * (rng.randint(0, 255) - 128) / 1.5) for _ in range(3))  # type: ignore

        image = Image.new("RGB", (size, size), colour())
        draw = ImageDraw.Draw(image)
        draw.ellipse([size * 0.2, size * 0.15, size * 0.8, size * 0.9], fill=colour())
        for x in (0.35, 0.65):
            draw.ellipse([size * (x - 0.05), size * 0.4, size * (x + 0.05), size * 0.48], fill=colour())
        draw.rectangle([size * 0.4, size * 0.7, size * 0.6, size * 0.74], fill=colour())
        return image


class GatedModel(DrawnFaceModel):
    """Blocks each model call until `gate` is set; `entered` tells that a call has started.
    Lets a test hold the generator's worker exactly where it wants it, without sleeps."""

    def __init__(self, hang_guard: float = 30.0, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.hang_guard = hang_guard
        self.gate = threading.Event()
        self.entered = threading.Event()

    def generate(self, seeds: Sequence[int], psi: float | Sequence[float]) -> list[Image.Image]:
        self.entered.set()
        if not self.gate.wait(self.hang_guard):
            raise RuntimeError("the test never opened the gate")
        return super().generate(seeds, psi)
