"""dlib face analysis: the HOG detector (face rate) and 128-d identity embeddings (FD_face,
data-copying in identity space). Models come from the face-recognition-models package on disk;
nothing is downloaded.

Every image is brought to at least 128 px first (the HOG detector's window is 80 px). A face the
detector misses is still embedded, from a fixed box: the mean detected box of the real set, so
FD_face covers every generated image, not only the good ones.
"""
from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from PIL import Image

MIN_SIDE = 128


def model_dir() -> Path:
    # A machine without the package (a GPU box) names a folder with the two .dat files instead.
    if os.environ.get("FIGMENT_DLIB_MODELS"):
        return Path(os.environ["FIGMENT_DLIB_MODELS"])
    # face_recognition_models' own helper needs pkg_resources, gone from new setuptools: find the folder.
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or spec.origin is None:
        raise RuntimeError("face-recognition-models is not installed (pip install face-recognition-models)")
    return Path(spec.origin).parent / "models"


@dataclass
class FaceStats:
    detected: np.ndarray  # bool, one per image
    boxes: np.ndarray  # N x 4 (left, top, right, bottom) as fractions of the side; NaN where none
    embeddings: np.ndarray  # N x 128


class FaceAnalyzer:
    def __init__(self) -> None:
        import dlib

        self.dlib = dlib
        folder = model_dir()
        self.detector = dlib.get_frontal_face_detector()
        self.landmarks = dlib.shape_predictor(str(folder / "shape_predictor_5_face_landmarks.dat"))
        self.encoder = dlib.face_recognition_model_v1(str(folder / "dlib_face_recognition_resnet_model_v1.dat"))

    @staticmethod
    def prepare(image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        if min(h, w) >= MIN_SIDE:
            return np.ascontiguousarray(image)
        scale = MIN_SIDE / min(h, w)
        resized = Image.fromarray(image).resize((round(w * scale), round(h * scale)), Image.BICUBIC)
        return np.asarray(resized)

    def detect(self, images: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        found = np.zeros(len(images), dtype=bool)
        boxes = np.full((len(images), 4), np.nan)
        for i, image in enumerate(images):
            image = self.prepare(image)
            rects = self.detector(image, 0)
            if len(rects):
                r = max(rects, key=lambda r: r.area())
                side = image.shape[0]
                found[i] = True
                boxes[i] = [r.left() / side, r.top() / side, r.right() / side, r.bottom() / side]
        return found, boxes

    def embed(self, images: Sequence[np.ndarray], boxes: np.ndarray, fallback: np.ndarray,
              progress: Callable[[int], None] | None = None) -> np.ndarray:
        out = np.zeros((len(images), 128), dtype=np.float32)
        for i, image in enumerate(images):
            image = self.prepare(image)
            side = image.shape[0]
            box = boxes[i] if np.isfinite(boxes[i]).all() else fallback
            left, top, right, bottom = (int(round(v * side)) for v in box)
            shape = self.landmarks(image, self.dlib.rectangle(left, top, right, bottom))
            out[i] = np.asarray(self.encoder.compute_face_descriptor(image, shape), dtype=np.float32)
            if progress and (i + 1) % 100 == 0:
                progress(i + 1)
        return out

    def analyze(self, images: Sequence[np.ndarray], fallback: np.ndarray | None = None,
                progress: Callable[[int], None] | None = None, workers: int = 1) -> FaceStats:
        if workers > 1 and len(images) >= 2 * CHUNK:
            return _analyze_in_processes(images, fallback, progress, workers)
        detected, boxes = self.detect(images)
        if fallback is None:
            fallback = default_box(boxes)
        return FaceStats(detected, boxes, self.embed(images, boxes, fallback, progress))


# dlib runs on one core: big sets go to a pool of processes, in chunks, in order.
CHUNK = 100
_worker: FaceAnalyzer | None = None


def _start_worker() -> None:
    global _worker
    _worker = FaceAnalyzer()


def _detect_chunk(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    assert _worker is not None
    return _worker.detect(images)


def _embed_chunk(job: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    assert _worker is not None
    return _worker.embed(*job)


def _analyze_in_processes(images: Sequence[np.ndarray], fallback: np.ndarray | None,
                          progress: Callable[[int], None] | None, workers: int) -> FaceStats:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    images = np.asarray(images)
    starts = range(0, len(images), CHUNK)
    context = multiprocessing.get_context("spawn")  # no fork of a process that holds torch threads
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker) as pool:
        found = list(pool.map(_detect_chunk, (images[i:i + CHUNK] for i in starts)))
        detected = np.concatenate([f[0] for f in found])
        boxes = np.concatenate([f[1] for f in found])
        if fallback is None:
            fallback = default_box(boxes)
        jobs = ((images[i:i + CHUNK], boxes[i:i + CHUNK], fallback) for i in starts)
        embeddings = []
        for part in pool.map(_embed_chunk, jobs):
            embeddings.append(part)
            if progress:
                progress(min(len(embeddings) * CHUNK, len(images)))
    return FaceStats(detected, boxes, np.concatenate(embeddings))


def default_box(boxes: np.ndarray) -> np.ndarray:
    """The mean detected box, or the centre of an FFHQ-style crop when nothing was detected."""
    good = boxes[np.isfinite(boxes).all(1)]
    return good.mean(0) if len(good) else np.array([0.22, 0.28, 0.78, 0.84])
