"""What a face shows, read on the CPU with dlib: its 128-d identity embedding, an age read from
that embedding by a linear model trained on labelled photos, and a smile measured from the 68
landmarks.

Age: the photo sets' file names carry the age (UTKFace `age_gender_race_date.jpg.chip.jpg`,
All-Age-Faces `NNNNNAxx.jpg`); only the age is read from them, never race or ethnicity. A ridge
regression from the identity embedding to the age is small, trains in a second and reads a
generated face in the same ~30 ms its embedding costs.
Smile: the mouth's width against the eyes' span, plus how far the mouth corners sit above the
lips' middle, both in units of the eye span (so size and position do not matter).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
from PIL import Image

from generator.evaluation.faces import MIN_SIDE, model_dir

UTK_NAME = re.compile(r"^(\d{1,3})_\d_\d_\d+\.jpg(?:\.chip\.jpg)?$")
AAF_NAME = re.compile(r"^\d{5}A(\d{2})\.jpg$")
# Where a generated (aligned) face sits when the detector misses it: fractions of the side
FALLBACK_BOX = (0.18, 0.22, 0.82, 0.86)


def age_from_name(name: str) -> int | None:
    """The age a photo set's file name states, or None for a name without one."""
    for pattern in (UTK_NAME, AAF_NAME):
        if (match := pattern.match(name)) is not None:
            return int(match.group(1))
    return None


def labelled_photos(folders: Sequence[Path]) -> Iterator[tuple[Path, int]]:
    for folder in folders:
        for path in sorted(Path(folder).rglob("*.jpg")):
            age = age_from_name(path.name)
            if age is not None:
                yield path, age


@dataclass(frozen=True)
class Reading:
    detected: bool
    embedding: np.ndarray  # 128
    smile: float


class FaceReader:
    """dlib's HOG detector, 5- and 68-point landmarks and the ResNet identity embedding."""

    def __init__(self) -> None:
        import dlib

        self.dlib = dlib
        folder = model_dir()
        self.detector = dlib.get_frontal_face_detector()
        self.five = dlib.shape_predictor(str(folder / "shape_predictor_5_face_landmarks.dat"))
        self.sixty_eight = dlib.shape_predictor(str(folder / "shape_predictor_68_face_landmarks.dat"))
        self.encoder = dlib.face_recognition_model_v1(str(folder / "dlib_face_recognition_resnet_model_v1.dat"))

    def read(self, image: Image.Image | np.ndarray, *, fallback: bool = True) -> Reading | None:
        """None when no face is found and fallback is off (photos); generated faces fall back to
        the aligned layout's box, so every one is read."""
        pixels = _at_least(np.asarray(image.convert("RGB") if isinstance(image, Image.Image) else image))
        rects = self.detector(pixels, 0)
        side = pixels.shape[0]
        if len(rects):
            rect = max(rects, key=lambda r: r.area())
        elif fallback:
            left, top, right, bottom = (round(v * side) for v in FALLBACK_BOX)
            rect = self.dlib.rectangle(left, top, right, bottom)
        else:
            return None
        embedding = np.asarray(self.encoder.compute_face_descriptor(pixels, self.five(pixels, rect)), np.float32)
        points = np.array([(p.x, p.y) for p in self.sixty_eight(pixels, rect).parts()], dtype=np.float64)
        return Reading(bool(len(rects)), embedding, smile_score(points))


def _at_least(pixels: np.ndarray) -> np.ndarray:
    h, w = pixels.shape[:2]
    if min(h, w) >= MIN_SIDE:
        return np.ascontiguousarray(pixels)
    scale = MIN_SIDE / min(h, w)
    return np.asarray(Image.fromarray(pixels).resize((round(w * scale), round(h * scale)), Image.BICUBIC))


def smile_score(points: np.ndarray) -> float:
    """68 landmarks (x, y) -> a smile score; about 0.9 for a closed neutral mouth, higher smiling."""
    eye_span = np.linalg.norm(points[45] - points[36])  # outer eye corners
    if eye_span <= 1e-6:
        return 0.0
    width = np.linalg.norm(points[54] - points[48]) / eye_span  # mouth corners
    lips_middle = (points[62, 1] + points[66, 1]) / 2  # inner lips' centre (y grows downwards)
    corners = (points[48, 1] + points[54, 1]) / 2
    return float(width + (lips_middle - corners) / eye_span)


@dataclass(frozen=True)
class AgeModel:
    """age ~ embedding @ weights + bias (ridge regression)."""

    weights: np.ndarray
    bias: float

    def predict(self, embeddings: np.ndarray) -> np.ndarray:
        return np.asarray(embeddings, np.float64) @ self.weights + self.bias

    @classmethod
    def fit(cls, embeddings: np.ndarray, ages: np.ndarray, ridge: float = 1e-2) -> "AgeModel":
        x = np.asarray(embeddings, np.float64)
        mean_x, mean_y = x.mean(0), float(np.mean(ages))
        xc = x - mean_x
        weights = np.linalg.solve(xc.T @ xc + ridge * len(x) * np.eye(x.shape[1]), xc.T @ (ages - mean_y))
        return cls(weights, mean_y - float(mean_x @ weights))

    def save(self, path: Path) -> None:
        np.savez(path, weights=self.weights, bias=np.array(self.bias))

    @classmethod
    def load(cls, path: Path) -> "AgeModel":
        with np.load(path) as data:
            return cls(data["weights"], float(data["bias"]))
