"""One photo file in, one aligned face (or a reason) out. Runs in the import's worker processes."""
from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np

from bot.photos import quality
from bot.photos.align import align_face, key_points, to_aligned
from bot.photos.decode import MAX_PIXELS, decode_photo
from bot.photos.hashing import content_hash, perceptual_hash, thumbnail
from bot.photos.landmarks import find_face
from bot.photos.reasons import FACE_TOO_SMALL, TOO_BLURRED, TOO_LARGE, UNREADABLE, PhotoRejected

# Files bigger than this are not read: a photo within MAX_PIXELS is far smaller even as an
# uncompressed BMP (192 MB), and a worker must never pull a mislabelled huge file into memory.
MAX_FILE_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class AlignOptions:
    size: int = 256                       # side of the stored aligned face
    min_face: float = 64.0                # smallest square side, in photo pixels, worth keeping
    min_sharpness: float = quality.MIN_SHARPNESS
    max_pixels: int = MAX_PIXELS
    max_file_bytes: int = MAX_FILE_BYTES


@dataclass
class Processed:
    path: str
    identity: str | None
    content_hash: str = ""
    reason: str | None = None             # set when the photo is rejected
    detail: str = ""
    png: bytes = b""
    perceptual_hash: int = 0
    thumb: bytes = b""
    sharpness: float = 0.0
    # Eye centres (left, right) and mouth centre in the aligned face, as shares of its side.
    points: list[tuple[float, float]] = field(default_factory=list)


def process_photo(data: bytes, options: AlignOptions) -> tuple[bytes, int, bytes, float, list[tuple[float, float]]]:
    """PNG of the aligned face, its perceptual hash and thumbnail, sharpness, key points; or PhotoRejected."""
    image = decode_photo(data, options.max_pixels)
    rgb = np.asarray(image)
    face = find_face(rgb)
    aligned, square = align_face(rgb, face.landmarks, options.size)
    if square.side < options.min_face:
        raise PhotoRejected(FACE_TOO_SMALL, f"face square {square.side:.0f} px, need {options.min_face:.0f}")
    sharp = quality.sharpness(aligned)
    if sharp < options.min_sharpness:
        raise PhotoRejected(TOO_BLURRED, f"sharpness {sharp:.1f}, need {options.min_sharpness:.1f}")
    k = key_points(face.landmarks)
    mouth = (k["mouth_left"] + k["mouth_right"]) / 2
    points = to_aligned(np.stack([k["eye_left"], k["eye_right"], mouth]), square, options.size)
    buffer = io.BytesIO()
    aligned.save(buffer, format="PNG", compress_level=1)  # fast; zlib level 6 saves little here
    shares = [(float(x) / options.size, float(y) / options.size) for x, y in points]
    return buffer.getvalue(), perceptual_hash(aligned), thumbnail(aligned), sharp, shares


_options = AlignOptions()


def init_worker(options: AlignOptions) -> None:
    global _options
    _options = options


def process_file(item: tuple[str, str | None]) -> Processed:
    """The worker's job for one file; never raises for a bad photo."""
    path, identity = item
    result = Processed(path, identity)
    try:
        with open(path, "rb") as handle:
            data = handle.read(_options.max_file_bytes + 1)  # read no more than the limit
    except OSError as error:
        result.reason, result.detail = UNREADABLE, error.strerror or str(error)
        return result
    if len(data) > _options.max_file_bytes:
        result.reason, result.detail = TOO_LARGE, f"file over {_options.max_file_bytes} bytes"
        return result
    result.content_hash = content_hash(data)
    try:
        (result.png, result.perceptual_hash, result.thumb, result.sharpness,
         result.points) = process_photo(data, _options)
    except PhotoRejected as rejected:
        result.reason, result.detail = rejected.reason, rejected.detail
    except Exception as error:  # a picture the pipeline chokes on must not stop (and re-stop) the import
        result.reason, result.detail = UNREADABLE, f"{type(error).__name__}: {error}"
    return result
