"""The broken-face filter: does a candidate look like a whole face at all?

Two checks, both from dlib models on disk (face-recognition-models):
- dlib's HOG face detector finds a face (at 160 px), and clearly: its detection score at least
  MIN_CONFIDENCE. Broken GAN faces (melted, smeared, half a face) are often found only just; the
  margin keeps 92% of real held-out photos and rejects most of those (docs/generator.md). This is
  the detector the evaluation's face rate counts with, so face rate is NOT an independent judge of
  the filter: it is what the filter promises. (dlib's CNN detector would be independent but costs
  ~180 ms a face here, 10x the HOG.) The judges that decide whether the filter helps are the ones
  it never sees: FD_face (dlib's identity network), SWD, the fresh classifier and diversity;
- its 68 landmarks (a predictor the evaluation does not use) sit where a face's landmarks sit: two
  eyes of like size, roughly level, a plausible distance apart, the nose between and below them,
  the mouth below the nose, all inside the image. Broken GAN faces (a melted eye, a second mouth,
  half a head) fail one of these.

Deterministic: the same pixels always give the same answer. About 10-30 ms a face on one core.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from generator.evaluation.faces import model_dir

SIDE = 160  # faces are brought to this side: the HOG detector's window is 80 px
MIN_CONFIDENCE = 0.5  # dlib's HOG detection score: 0 is its own threshold; real faces score 1.6 (median)
VERSION = 2  # bump when a verdict can change (cached verdicts are tied to it)


@dataclass(frozen=True)
class Verdict:
    passed: bool
    reason: str  # "ok", or why the face failed


class FaceFilter:
    def __init__(self) -> None:
        import dlib

        self.dlib = dlib
        self.detector = dlib.get_frontal_face_detector()
        self.predictor = dlib.shape_predictor(str(model_dir() / "shape_predictor_68_face_landmarks.dat"))

    def check(self, image: Image.Image | np.ndarray) -> Verdict:
        pixels = _prepared(image)
        found, scores, _ = self.detector.run(pixels, 0, 0.0)
        if not len(found):
            return Verdict(False, "no face found")
        best = max(range(len(found)), key=lambda i: scores[i])
        if scores[best] < MIN_CONFIDENCE:
            return Verdict(False, "no clear face found")
        rect = found[best]
        shape = self.predictor(pixels, rect)
        points = np.array([(shape.part(i).x, shape.part(i).y) for i in range(68)], np.float64) / SIDE
        return plausible(points)

    def passes(self, images: list) -> list[bool]:
        return [self.check(image).passed for image in images]


def _prepared(image: Image.Image | np.ndarray) -> np.ndarray:
    image = image if isinstance(image, Image.Image) else Image.fromarray(np.asarray(image, np.uint8))
    image = image.convert("RGB")
    if image.size != (SIDE, SIDE):
        image = image.resize((SIDE, SIDE), Image.Resampling.BICUBIC)
    return np.ascontiguousarray(np.asarray(image))


def plausible(points: np.ndarray) -> Verdict:
    """68 landmarks (x, y as fractions of the side, dlib's order) -> is this a face's layout?
    The bounds are loose: every real held-out face we checked passes (docs/generator.md)."""
    left_eye, right_eye = points[36:42].mean(0), points[42:48].mean(0)
    nose, mouth = points[30], points[48:68].mean(0)
    eye_gap = float(np.linalg.norm(right_eye - left_eye))
    if not (points > -0.1).all() or not (points < 1.1).all():
        return Verdict(False, "landmarks outside the image")
    if not 0.15 <= eye_gap <= 0.6:
        return Verdict(False, "eyes too close or too far apart")
    if abs(right_eye[1] - left_eye[1]) > 0.35 * eye_gap:
        return Verdict(False, "eyes not level")
    widths = [np.ptp(points[36:42, 0]), np.ptp(points[42:48, 0])]
    if min(widths) < 0.5 * max(widths):
        return Verdict(False, "eyes of unlike size")
    middle = (left_eye + right_eye) / 2
    if abs(nose[0] - middle[0]) > 0.45 * eye_gap:
        return Verdict(False, "nose not between the eyes")
    if not middle[1] < nose[1] < mouth[1]:
        return Verdict(False, "eyes, nose and mouth out of order")
    if not 0.6 * eye_gap <= mouth[1] - middle[1] <= 1.8 * eye_gap:
        return Verdict(False, "mouth too near or too far from the eyes")
    if np.ptp(points[48:60, 0]) < 0.35 * eye_gap:
        return Verdict(False, "mouth too narrow")
    return Verdict(True, "ok")
