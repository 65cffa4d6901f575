"""FFHQ-style alignment: eyes and mouth define an oriented square around the whole head.

The recipe (Karras et al., FFHQ): the square's x axis follows the eyes, corrected by the
eye-to-mouth direction; its half side is the larger of 2x the eye distance and 1.8x the
eye-to-mouth distance; its centre sits a tenth of the eye-to-mouth vector below the eyes.
Where the square leaves the photo it is filled by reflection, blurred and faded to the
photo's median colour (never black), and the square is resampled to the output size.
Black wedges from an earlier rotation of the photo (All-Age-Faces has them) count as
outside the photo too.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

LEFT_EYE, RIGHT_EYE = slice(36, 42), slice(42, 48)  # as seen in the photo: subject's right, left
MOUTH_LEFT, MOUTH_RIGHT = 48, 54

# The pixel value under which a corner region counts as a rotation wedge, not photo.
WEDGE_BLACK = 10
# Blur of the padding, as a share of the square's side. FFHQ uses 0.02 on photos that mostly
# cover the square; our tight crops (UTKFace) need more, or mirrored features show sharply.
PAD_BLUR = 0.05


@dataclass(frozen=True)
class Square:
    """The oriented square: centre c, half-axis vectors x (rightwards) and y (downwards)."""

    c: np.ndarray
    x: np.ndarray
    y: np.ndarray

    @property
    def side(self) -> float:
        return 2.0 * float(np.hypot(*self.x))

    def corners(self) -> np.ndarray:
        """Top-left, bottom-left, bottom-right, top-right (Pillow's QUAD order)."""
        c, x, y = self.c, self.x, self.y
        return np.stack([c - x - y, c - x + y, c + x + y, c + x - y])

    def scaled(self, factor: float, shift: tuple[float, float] = (0.0, 0.0)) -> Square:
        """The same square after the photo is scaled by `factor`, then moved by `shift`."""
        return Square(self.c * factor + np.asarray(shift), self.x * factor, self.y * factor)


def key_points(landmarks: np.ndarray) -> dict[str, np.ndarray]:
    """Eye centres and mouth corners from dlib's 68 points."""
    return {
        "eye_left": landmarks[LEFT_EYE].mean(axis=0),
        "eye_right": landmarks[RIGHT_EYE].mean(axis=0),
        "mouth_left": landmarks[MOUTH_LEFT],
        "mouth_right": landmarks[MOUTH_RIGHT],
    }


def face_square(landmarks: np.ndarray) -> Square:
    k = key_points(landmarks)
    eyes = (k["eye_left"] + k["eye_right"]) / 2
    eye_to_eye = k["eye_right"] - k["eye_left"]
    eye_to_mouth = (k["mouth_left"] + k["mouth_right"]) / 2 - eyes
    # Turning eye_to_mouth a quarter turn anticlockwise points it along the eyes, so the
    # difference averages both cues for which way is "right" in the face.
    across = eye_to_eye - np.array([-eye_to_mouth[1], eye_to_mouth[0]])
    across = across / np.hypot(*across)
    half = max(2.0 * np.hypot(*eye_to_eye), 1.8 * np.hypot(*eye_to_mouth))
    x = across * half
    y = np.array([-x[1], x[0]])
    return Square(eyes + 0.1 * eye_to_mouth, x, y)


def to_aligned(points: np.ndarray, square: Square, size: int) -> np.ndarray:
    """Where photo points (pixel indices) land in the aligned image (pixel indices)."""
    # Pixel centres sit at +0.5 in Pillow's transform coordinates: the shift cancels here.
    rel = points - (square.c - square.x - square.y)
    u = rel @ square.x / (2 * square.x @ square.x)
    v = rel @ square.y / (2 * square.y @ square.y)
    return np.stack([u, v], axis=-1) * size - 0.5


def _box_blur(array: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a (2r+1)^2 box, edges repeated; three passes approach a Gaussian."""
    if radius < 1:
        return array
    out = array
    for axis in (0, 1):
        pad = [(0, 0)] * out.ndim
        pad[axis] = (radius + 1, radius)
        padded = np.pad(out, pad, mode="edge")
        summed = np.cumsum(padded, axis=axis, dtype=np.float64)
        upper = np.take(summed, np.arange(2 * radius + 1, summed.shape[axis]), axis=axis)
        lower = np.take(summed, np.arange(0, summed.shape[axis] - 2 * radius - 1), axis=axis)
        out = (upper - lower) / (2 * radius + 1)
    return out


def _resize_channels(array: np.ndarray, size: tuple[int, int], resample: Image.Resampling) -> np.ndarray:
    """Resize a float H x W (x C) array channel by channel (Pillow's 'F' mode keeps the precision)."""
    planes = array[..., None] if array.ndim == 2 else array
    out = np.stack([np.asarray(Image.fromarray(np.ascontiguousarray(planes[..., c]), "F").resize(size, resample))
                    for c in range(planes.shape[-1])], axis=-1)
    return out[..., 0] if array.ndim == 2 else out


def gaussian_blur(array: np.ndarray, sigma: float) -> np.ndarray:
    """An approximate Gaussian blur: three box passes, on a shrunken copy when sigma is large."""
    out = array.astype(np.float32)
    height, width = out.shape[:2]
    step = max(1, int(sigma // 2))
    if step > 1:
        out = _resize_channels(out, (max(1, width // step), max(1, height // step)), Image.Resampling.BOX)
    radius = max(1, round(sigma / step))  # three boxes of radius r give a Gaussian of sigma ~ r
    for _ in range(3):
        out = _box_blur(out, radius)
    if step > 1:
        out = _resize_channels(out.astype(np.float32), (width, height), Image.Resampling.BILINEAR)
    return out


def wedge_mask(rgb: np.ndarray) -> np.ndarray:
    """Pure black regions reaching into the photo from its corners (left by an earlier rotation)."""
    height, width = rgb.shape[:2]
    dark = rgb.max(axis=2) <= WEDGE_BLACK
    corners = [(0, 0), (width - 1, 0), (0, height - 1), (width - 1, height - 1)]
    if not any(dark[y, x] for x, y in corners):
        return np.zeros((height, width), dtype=bool)
    canvas = Image.fromarray(np.where(dark, 255, 0).astype(np.uint8), "L").copy()  # writable
    for x, y in corners:
        if dark[y, x]:
            ImageDraw.floodfill(canvas, (x, y), 128)
    wedge = np.asarray(canvas) == 128
    if wedge.mean() > 0.5:  # a dark photo, not a wedge
        return np.zeros_like(wedge)
    # JPEG ringing lines the wedge's edge: take two pixels more.
    grown = Image.fromarray(wedge.astype(np.uint8) * 255, "L").filter(ImageFilter.MaxFilter(5))
    return np.asarray(grown) > 0


def _fill(image: np.ndarray, invalid: np.ndarray, sigma: float) -> np.ndarray:
    """Invalid pixels replaced by a smooth average of the valid ones around them."""
    valid = (~invalid).astype(np.float32)
    out = image.copy()
    todo = invalid.copy()
    while todo.any() and sigma < 4 * max(image.shape):
        weight = gaussian_blur(valid, sigma)
        colour = gaussian_blur(image * valid[..., None], sigma)
        ok = todo & (weight > 1e-3)
        out[ok] = colour[ok] / weight[ok][:, None]
        todo &= ~ok
        sigma *= 2
    return out


def align_face(rgb: np.ndarray, landmarks: np.ndarray, size: int = 256) -> tuple[Image.Image, Square]:
    """The aligned face (RGB, size x size) and the square it was cut from (photo coordinates)."""
    square = face_square(landmarks)
    image = rgb
    # Shrink very large photos first, so the final resampling never skips pixels.
    shrink = int(math.floor(square.side / size * 0.5))
    if shrink > 1:
        height, width = image.shape[:2]
        small = Image.fromarray(image).resize((round(width / shrink), round(height / shrink)),
                                              Image.Resampling.LANCZOS)
        image = np.asarray(small)
        square = square.scaled(1 / shrink)
    side = square.side
    border = max(round(side * 0.1), 3)

    # Crop to the square's bounding box plus a border, as far as the photo goes.
    corners = square.corners()
    lo = np.floor(corners.min(axis=0)).astype(int) - border
    hi = np.ceil(corners.max(axis=0)).astype(int) + border
    height, width = image.shape[:2]
    x0, y0 = max(lo[0], 0), max(lo[1], 0)
    x1, y1 = min(hi[0], width), min(hi[1], height)
    crop = image[y0:y1, x0:x1].astype(np.float32)
    square = square.scaled(1.0, (-x0, -y0))
    invalid = wedge_mask(image)[y0:y1, x0:x1]
    if invalid.any():
        crop = _fill(crop, invalid, max(side * 0.02, 1.0))

    # Pad where the square leaves the photo: reflect, then blur and fade to the median colour.
    need = [max(x0 - lo[0], 0), max(y0 - lo[1], 0), max(hi[0] - x1, 0), max(hi[1] - y1, 0)]
    if max(need) > border - 4 or invalid.any():
        pad = [max(p, round(side * 0.3)) if p > 0 else 0 for p in need]
        left, top, right, bottom = pad
        crop = np.pad(crop, ((top, bottom), (left, right), (0, 0)), mode="reflect") if max(pad) else crop
        invalid = np.pad(invalid, ((top, bottom), (left, right)), mode="constant", constant_values=False)
        h, w = crop.shape[:2]
        ys, xs = np.ogrid[0:h, 0:w]
        # 0 at the photo's edge, 1 at the canvas edge, per side as in the FFHQ recipe.
        fade = np.zeros((h, w), dtype=np.float32)
        for amount, distance in ((left, left - xs), (right, xs - (w - 1 - right)),
                                 (top, top - ys), (bottom, ys - (h - 1 - bottom))):
            if amount > 0:
                fade = np.maximum(fade, np.clip(distance / amount, 0.0, 1.0))
        if invalid.any():
            inside = gaussian_blur(invalid.astype(np.float32), max(side * 0.03, 1.0))
            fade = np.maximum(fade, np.clip(2 * inside - 1, 0.0, 1.0) * invalid)
        blurred = gaussian_blur(crop, max(side * PAD_BLUR, 1.0))
        crop += (blurred - crop) * np.clip(fade * 3.0, 0.0, 1.0)[..., None]
        median = np.median(crop.reshape(-1, 3), axis=0)
        crop += (median - crop) * np.clip(fade, 0.0, 1.0)[..., None]
        square = square.scaled(1.0, (left, top))

    # Resample the square: to a multiple of the output first when it is larger, then down.
    canvas = Image.fromarray(np.clip(np.rint(crop), 0, 255).astype(np.uint8), "RGB")
    work = size if square.side <= 1.5 * size else size * int(min(4, math.ceil(square.side / size)))
    quad = (square.corners() + 0.5).flatten().tolist()
    face = canvas.transform((work, work), Image.Transform.QUAD, quad, Image.Resampling.BICUBIC)
    if work != size:
        face = face.resize((size, size), Image.Resampling.LANCZOS)
    return face, face_square(landmarks)
