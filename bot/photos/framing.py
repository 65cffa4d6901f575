"""Are the aligned faces framed alike? Landmarks found again on stored faces, and a contact sheet."""
from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from bot.photos.align import key_points
from bot.photos.landmarks import find_face
from bot.photos.reasons import PhotoRejected

# Where the recipe puts the eye centres and the mouth centre (shares of the side) for an
# upright face whose eye-to-mouth distance equals its eye distance: x at 1/2 -+ 1/8;
# eyes 0.1 of that distance above the centre, the mouth 0.9 below (the square is 4 eye distances).
CANONICAL = np.array([(0.375, 0.475), (0.625, 0.475), (0.5, 0.725)])
POINT_NAMES = ("left eye", "right eye", "mouth")


@dataclass
class Framing:
    measured: int            # faces whose landmarks were found again
    tried: int
    mean: np.ndarray         # 3 x 2: left eye, right eye, mouth centre, shares of the side

    @property
    def worst_offset(self) -> float:
        """The largest distance of a mean point from its canonical place, as a share of the side."""
        return float(np.abs(self.mean - CANONICAL).max())


def measure_framing(paths: list[Path]) -> Framing:
    points = []
    for path in paths:
        try:
            with Image.open(path) as image:
                rgb = np.asarray(image.convert("RGB"))
            face = find_face(rgb)
        except (OSError, PhotoRejected):
            continue
        k = key_points(face.landmarks)
        mouth = (k["mouth_left"] + k["mouth_right"]) / 2
        points.append(np.stack([k["eye_left"], k["eye_right"], mouth]) / rgb.shape[1])
    mean = np.mean(points, axis=0) if points else np.full((3, 2), np.nan)
    return Framing(len(points), len(paths), mean)


def contact_sheet(groups: dict[str, list[Path]], out: Path, thumb: int = 96) -> Path:
    """One row per group (pack) of aligned faces, with the canonical eye and mouth marks drawn on."""
    columns = max((len(paths) for paths in groups.values()), default=0)
    label = 140
    sheet = Image.new("RGB", (label + columns * thumb, len(groups) * thumb), "white")
    draw = ImageDraw.Draw(sheet)
    for row, (name, paths) in enumerate(groups.items()):
        draw.text((6, row * thumb + thumb // 2 - 6), name, fill="black")
        for column, path in enumerate(paths):
            x, y = label + column * thumb, row * thumb
            try:
                with Image.open(path) as image:
                    face = image.convert("RGB").resize((thumb, thumb), Image.Resampling.LANCZOS)
            except OSError:  # a stored face gone or broken: its cell stays empty
                continue
            sheet.paste(face, (x, y))
            for cx, cy in CANONICAL * thumb:
                draw.ellipse([x + cx - 1.5, y + cy - 1.5, x + cx + 1.5, y + cy + 1.5], outline=(0, 255, 0))
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    return out


def sample(items: list, count: int, seed: int = 0) -> list:
    return items if len(items) <= count else random.Random(seed).sample(items, count)
