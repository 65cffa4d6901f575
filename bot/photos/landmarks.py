"""Find the one face in a photo and its 68 landmarks with dlib (HOG detector, shipped models).

The models come from the face-recognition-models wheel: nothing is downloaded at run time.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import dlib
import numpy as np

from bot.photos.reasons import NO_FACE, SEVERAL_FACES, PhotoRejected

# Faces are looked for on a copy at most this big (speed); landmarks use the full photo.
DETECT_MAX_SIDE = 800
# A second face at least this share of the biggest face's area makes the photo ambiguous.
SIMILAR_FACE_AREA = 0.4
# Tight crops (face touching the borders) defeat HOG: retry on a padded, then upsampled copy.
DETECT_PAD = 0.25


def _models_dir() -> Path:
    # face_recognition_models imports pkg_resources, which new setuptools no longer ships:
    # find its folder without importing it.
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("face-recognition-models is not installed (pip install face-recognition-models)")
    return Path(list(spec.submodule_search_locations)[0]) / "models"


@lru_cache(maxsize=1)
def _detector() -> dlib.fhog_object_detector:
    return dlib.get_frontal_face_detector()


@lru_cache(maxsize=1)
def _predictor() -> dlib.shape_predictor:
    return dlib.shape_predictor(str(_models_dir() / "shape_predictor_68_face_landmarks.dat"))


@dataclass(frozen=True)
class Face:
    landmarks: np.ndarray  # 68 x 2 float, (x, y) in photo pixels
    box: tuple[float, float, float, float]  # left, top, right, bottom in photo pixels


def _detect(rgb: np.ndarray) -> list[tuple[float, float, float, float]]:
    """Face boxes in `rgb` coordinates, biggest first; tries harder when the first look finds none."""
    height, width = rgb.shape[:2]
    scale = min(1.0, DETECT_MAX_SIDE / max(height, width))
    small = rgb
    if scale < 1.0:
        from PIL import Image
        side = (max(1, round(width * scale)), max(1, round(height * scale)))  # a thin strip keeps one pixel
        small = np.asarray(Image.fromarray(rgb).resize(side, Image.Resampling.BILINEAR))
    pad = round(DETECT_PAD * max(small.shape[:2]))
    padded = np.pad(small, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
    for image, offset, upsample in ((small, 0, 0), (padded, pad, 0), (padded, pad, 1)):
        rects = _detector()(image, upsample)
        if len(rects):
            boxes = [((r.left() - offset) / scale, (r.top() - offset) / scale,
                      (r.right() - offset) / scale, (r.bottom() - offset) / scale) for r in rects]
            return sorted(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]), reverse=True)
    return []


def find_face(rgb: np.ndarray) -> Face:
    """The photo's one face, or PhotoRejected (no face; several faces of similar size)."""
    boxes = _detect(rgb)
    if not boxes:
        raise PhotoRejected(NO_FACE)
    area = [(b[2] - b[0]) * (b[3] - b[1]) for b in boxes]
    similar = sum(1 for a in area if a >= SIMILAR_FACE_AREA * area[0])
    if similar > 1:
        raise PhotoRejected(SEVERAL_FACES, f"{similar} faces of similar size")
    left, top, right, bottom = boxes[0]
    rect = dlib.rectangle(round(left), round(top), round(right), round(bottom))
    shape = _predictor()(np.ascontiguousarray(rgb), rect)
    points = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)
    return Face(points, (left, top, right, bottom))
