"""How sharp an aligned face is: variance of the Laplacian over the face's middle."""
from __future__ import annotations

import numpy as np
from PIL import Image

SHARPNESS_SIDE = 128  # measured at one size, so photos of any size compare
# Below this the face is too blurred to show or train on (calibrated on ../shared/faces:
# it drops the visibly smeared UTKFace crops and keeps over 99% of the rest).
MIN_SHARPNESS = 20.0


def sharpness(face: Image.Image) -> float:
    grey = np.asarray(face.convert("L").resize((SHARPNESS_SIDE, SHARPNESS_SIDE), Image.Resampling.BILINEAR),
                      dtype=np.float64)
    lo, hi = SHARPNESS_SIDE // 4, SHARPNESS_SIDE * 3 // 4  # eyes, nose and mouth: never padding
    middle = grey[lo - 1:hi + 1, lo - 1:hi + 1]
    laplacian = (middle[:-2, 1:-1] + middle[2:, 1:-1] + middle[1:-1, :-2] + middle[1:-1, 2:]
                 - 4 * middle[1:-1, 1:-1])
    return float(laplacian.var())
