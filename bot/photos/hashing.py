"""Content hash (exact duplicates) and perceptual hash (the same picture re-encoded or resized)."""
from __future__ import annotations

import hashlib

import numpy as np
from PIL import Image

HASH_SIDE = 32  # the picture is shrunk to 32x32 grey before its low frequencies are compared
# Aligned faces share their layout, so different photos can have close hashes: hashes this
# close (of 64 bits) only make a candidate, confirmed by comparing small thumbnails.
CANDIDATE_BITS = 12
SAME_PICTURE = 0.95  # thumbnail correlation of a re-encoded or resized copy (different photos: < 0.9)
THUMB_SIDE = 32


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _dct_matrix(n: int) -> np.ndarray:
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    return np.cos(np.pi * (2 * i + 1) * k / (2 * n))


_DCT = _dct_matrix(HASH_SIDE)


def perceptual_hash(image: Image.Image) -> int:
    """64-bit DCT hash as a signed integer (it fits a BIGINT column)."""
    grey = np.asarray(image.convert("L").resize((HASH_SIDE, HASH_SIDE), Image.Resampling.BILINEAR),
                      dtype=np.float64)
    low = (_DCT @ grey @ _DCT.T)[:8, :8].flatten()
    bits = low > np.median(low[1:])  # the mean (first term) would dominate the median
    value = int("".join("1" if b else "0" for b in bits), 2)
    return value - (1 << 64) if value >= 1 << 63 else value


def hamming(known: np.ndarray, value: int) -> np.ndarray:
    """Bit distance from `value` to each of `known` (int64 array)."""
    diff = np.bitwise_xor(known.view(np.uint64), np.uint64(value & 0xFFFFFFFFFFFFFFFF))
    as_bytes = diff.view(np.uint8).reshape(-1, 8)
    return np.unpackbits(as_bytes, axis=1).sum(axis=1)


def thumbnail(image: Image.Image) -> bytes:
    """A 32x32 grey copy: what near-duplicate candidates are compared on."""
    return image.convert("L").resize((THUMB_SIDE, THUMB_SIDE), Image.Resampling.BOX).tobytes()


def same_picture(a: bytes, b: bytes) -> bool:
    """Whether two thumbnails show the same picture (brightness and contrast changes allowed)."""
    x, y = (np.frombuffer(t, dtype=np.uint8).astype(np.float64) for t in (a, b))
    x, y = x - x.mean(), y - y.mean()
    norm = np.sqrt((x * x).sum() * (y * y).sum())
    return bool(norm > 0 and (x * y).sum() / norm >= SAME_PICTURE)
