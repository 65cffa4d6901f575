"""The invisible watermark in /face images: "Figment" plus a model id, 64 bits, in the luma.

Embedding is invisible-watermark's DWT-DCT-SVD rule (imwatermark.EmbedDwtDctSvd): the Y channel's
Haar LL band is cut into 4x4 blocks and each block's largest singular value is quantised
(QIM) to carry one bit. The library lays the bits out row by row, so a crop scrambles them;
we lay them out as a 2D tile of 8x8 blocks (64 px square) repeated over the image instead, so a
crop only shifts the tile. Reading searches the 64 pixel offsets of the block grid and the 64
shifts of the tile, at the native scale and at the posted size (after a downscale).

Reading costs work in proportion to the pixels searched, so it never searches more than a WINDOW
square at each scale: a 512 px window holds 64 whole tiles, as many as a posted face, so a bigger
image (a huge upload, or a face posted larger) gains nothing from being searched whole.

Payload: 40 fixed sync bits (the "Figment" part), a 16-bit model id, an 8-bit CRC of the id.
A mark counts only when at most MAX_SYNC_ERRORS sync bits are wrong and the CRC holds, which
keeps false alarms on unmarked images rare even over all the searched positions (see
`false_alarm_chance`).
"""
from __future__ import annotations

import functools
import hashlib
import math
import time
from dataclasses import dataclass
from typing import Iterator

import cv2
import numpy as np
from PIL import Image

BLOCK = 4                # LL-band block side (the library's default): 8 image pixels
TILE = 8                 # blocks per tile side: 64 bits per tile
CELL = 2 * BLOCK         # image pixels per block side
SCALE = 36.0             # QIM step on the largest singular value (the library's default strength)
SYNC_BITS = 40
ID_BITS = 16
CRC_BITS = 8
MAX_SYNC_ERRORS = 3
MIN_SIDE = 128           # smaller images hold too few tiles to read
WINDOW = 512             # the largest square searched at one scale (64 tiles)
# 40 sync bits, fixed forever (changing them orphans every posted face): a byte string's bits.
_SYNC = np.unpackbits(np.frombuffer(hashlib.sha256(b"Figment watermark v1").digest()[:5], np.uint8))
# A fixed scramble of the 64 tile cells, so neighbouring cells carry unrelated bits.
_ORDER = np.random.default_rng(20261201).permutation(TILE * TILE)


def model_id(model_version: str) -> int:
    """The 16 bits that stand for a model version in the mark."""
    return int.from_bytes(hashlib.sha256(model_version.encode()).digest()[:2], "big")


def _crc8(value: int) -> int:
    crc = 0
    for byte in value.to_bytes(2, "big"):
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def _bits(value: int, width: int) -> np.ndarray:
    return np.array([(value >> (width - 1 - k)) & 1 for k in range(width)], dtype=np.uint8)


def payload_bits(model_version: str) -> np.ndarray:
    ident = model_id(model_version)
    return np.concatenate([_SYNC, _bits(ident, ID_BITS), _bits(_crc8(ident), CRC_BITS)])


def _tile_of(bits: np.ndarray) -> np.ndarray:
    """bits (64) placed on the TILE x TILE cells in the scrambled order."""
    tile = np.empty(TILE * TILE, dtype=bits.dtype)
    tile[_ORDER] = bits
    return tile.reshape(TILE, TILE)


@functools.cache
def _tiled_embed_class() -> type:
    """The library's embedder with a tiled layout: block (i, j) carries tile[i % 8, j % 8].
    Imported on first use: the library's package imports torch (about 250 MB), which a process
    that only reads marks (the /check worker) does without."""
    from imwatermark.dwtDctSvd import EmbedDwtDctSvd

    class TiledEmbed(EmbedDwtDctSvd):  # type: ignore[misc]
        def __init__(self, tile: np.ndarray, scale: float) -> None:
            super().__init__(watermarks=[], wmLen=TILE * TILE, scales=[scale, 0, 0], block=BLOCK)
            self._tile = tile

        def encode_frame(self, frame: np.ndarray, scale: float) -> None:
            rows, cols = frame.shape
            for i in range(rows // BLOCK):
                for j in range(cols // BLOCK):
                    cell = frame[i * BLOCK:(i + 1) * BLOCK, j * BLOCK:(j + 1) * BLOCK]
                    bit = int(self._tile[i % TILE, j % TILE])
                    frame[i * BLOCK:(i + 1) * BLOCK, j * BLOCK:(j + 1) * BLOCK] = \
                        self.diffuse_dct_svd(cell, bit, scale)

    return TiledEmbed


def embed(image: Image.Image, model_version: str, scale: float = SCALE) -> Image.Image:
    """A copy of image (RGB) carrying the mark for model_version."""
    rgb = np.asarray(image.convert("RGB"), dtype=np.float32)
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    marked = _tiled_embed_class()(_tile_of(payload_bits(model_version)), scale).encode(bgr)
    out = np.clip(np.rint(marked[:, :, ::-1]), 0, 255).astype(np.uint8)
    return Image.fromarray(out, "RGB")


class ReadTimeout(TimeoutError):
    """The search passed its deadline (the caller's time limit)."""


@dataclass(frozen=True)
class MarkReading:
    found: bool
    model_id: int | None       # the 16-bit id, when found
    sync_errors: int           # wrong sync bits at the best position searched (0..40)
    bits: np.ndarray           # the 64 bits read at that position, payload order
    false_alarm: float         # chance an unmarked image reads this well somewhere (upper bound)

    def bit_errors(self, model_version: str) -> int:
        return int(np.sum(self.bits != payload_bits(model_version)))


def _luma(image: Image.Image) -> np.ndarray:
    rgb = np.asarray(image.convert("RGB"), dtype=np.float32)
    return cv2.cvtColor(np.ascontiguousarray(rgb[:, :, ::-1]), cv2.COLOR_BGR2YUV)[:, :, 0]


def _largest_singular(blocks: np.ndarray) -> np.ndarray:
    """The largest singular value of each 4x4 block: the square root of the largest eigenvalue of
    its Gram matrix, in float64 (a third cheaper than a batched SVD, and as exact)."""
    b = blocks.astype(np.float64)
    gram = np.einsum("...ji,...jk->...ik", b, b)
    return np.sqrt(np.maximum(np.linalg.eigvalsh(gram)[..., -1], 0.0))


def _soft_tiles(y: np.ndarray, scale: float) -> Iterator[np.ndarray]:
    """For each of the 64 pixel offsets of the block grid: the tile of summed soft bits
    (positive: 1), read with the library's rule (largest singular value modulo the step)."""
    # The Haar LL band at any even/odd phase is the 2x2 box sum / 2: compute it once.
    box = (y[:-1, :-1] + y[1:, :-1] + y[:-1, 1:] + y[1:, 1:]) / 2.0
    for dy in range(CELL):
        for dx in range(CELL):
            ll = box[dy::2, dx::2]
            rows, cols = ll.shape[0] // BLOCK, ll.shape[1] // BLOCK
            blocks = ll[:rows * BLOCK, :cols * BLOCK].reshape(rows, BLOCK, cols, BLOCK).swapaxes(1, 2)
            s0 = _largest_singular(blocks)
            soft = -np.sin(2 * np.pi * (s0 % scale) / scale)  # +1 at 3/4 step (bit 1), -1 at 1/4
            tile = np.zeros((TILE, TILE))
            np.add.at(tile, (np.arange(rows)[:, None] % TILE, np.arange(cols)[None, :] % TILE), soft)
            yield tile


# Every cyclic shift of the tile, as indices into the flattened tile, in payload order.
_SHIFTS = np.array([
    np.roll(np.arange(TILE * TILE).reshape(TILE, TILE), (-sy, -sx), axis=(0, 1)).reshape(-1)[_ORDER]
    for sy in range(TILE) for sx in range(TILE)])


def false_alarm_chance(positions: int, max_errors: int = MAX_SYNC_ERRORS) -> float:
    """Union bound: chance that random bits pass the sync and CRC test at any of `positions`."""
    per = sum(math.comb(SYNC_BITS, k) for k in range(max_errors + 1)) / 2 ** SYNC_BITS / 2 ** CRC_BITS
    return min(1.0, positions * per)


def _read_at(y: np.ndarray, scale: float, deadline: float | None = None) -> tuple[int, np.ndarray]:
    """(sync errors, bits) at the best grid offset and tile shift; stops early at a position
    that passes the test. Raises ReadTimeout once time.monotonic() passes deadline."""
    best: tuple[int, np.ndarray] | None = None
    for tile in _soft_tiles(y, scale):
        if deadline is not None and time.monotonic() > deadline:
            raise ReadTimeout("the watermark search ran out of time")
        soft = tile.reshape(-1)[_SHIFTS]          # (64 shifts, 64 payload bits)
        bits = (soft > 0).astype(np.uint8)
        errors = np.sum(bits[:, :SYNC_BITS] != _SYNC, axis=1)
        for k in np.argsort(errors, kind="stable"):
            if best is None or errors[k] < best[0]:
                best = (int(errors[k]), bits[k])
            if errors[k] > MAX_SYNC_ERRORS:
                break
            if _valid(bits[k]):
                return int(errors[k]), bits[k]
    assert best is not None
    return best


def _valid(bits: np.ndarray) -> bool:
    ident = int("".join(map(str, bits[SYNC_BITS:SYNC_BITS + ID_BITS])), 2)
    crc = int("".join(map(str, bits[SYNC_BITS + ID_BITS:])), 2)
    return _crc8(ident) == crc


def _window(image: Image.Image) -> Image.Image:
    """The central WINDOW x WINDOW part of image (all of it when smaller)."""
    width, height = image.size
    if width <= WINDOW and height <= WINDOW:
        return image
    left, top = (width - min(width, WINDOW)) // 2, (height - min(height, WINDOW)) // 2
    return image.crop((left, top, left + min(width, WINDOW), top + min(height, WINDOW)))


def posted_scale(size: tuple[int, int], posted_size: int) -> tuple[int, int]:
    """size rescaled so its longest side is posted_size (where a resized face's mark is read)."""
    factor = posted_size / max(size)
    return max(1, round(size[0] * factor)), max(1, round(size[1] * factor))


def views(image: Image.Image, posted_size: int = 512, native_size: tuple[int, int] | None = None) -> list[Image.Image]:
    """What the reader searches, each at most WINDOW square: the image at its own scale (a face
    re-encoded or cropped), and rescaled to the posted size (a face resized or screen-scaled).
    native_size: the file's own size when image was decoded smaller (JPEG draft); the own-scale
    view is then left out, which only happens at twice the posted size or more, where a face
    at its posted scale could fill at most a quarter of the picture."""
    width, height = native_size or image.size
    if min(width, height) < MIN_SIDE:
        return []
    out = []
    if native_size is None or native_size == image.size:
        if max(width, height) < 2 * posted_size:
            out.append(_window(image))
    if max(width, height) != posted_size:  # maybe resized (half size, 0.9x, 2x): also read it at the posted scale
        target = posted_scale((width, height), posted_size)
        if min(target) >= MIN_SIDE:
            rescaled = image.convert("RGB").resize(target, Image.Resampling.BICUBIC, reducing_gap=3.0)
            out.append(_window(rescaled))
    return out


def read(image: Image.Image, posted_size: int = 512, scale: float = SCALE) -> MarkReading:
    """Look for the mark at the image's own scale, then rescaled to the posted size."""
    return read_views(views(image, posted_size), scale)


def read_views(candidates: list[Image.Image], scale: float = SCALE, deadline: float | None = None) -> MarkReading:
    """Search views (from `views`) for the mark; ReadTimeout once time.monotonic() passes deadline."""
    if not candidates:
        return MarkReading(False, None, SYNC_BITS, np.zeros(64, np.uint8), 0.0)
    # The bound counts every position the whole search could try, though it stops at a hit.
    chance = false_alarm_chance(len(candidates) * CELL * CELL * TILE * TILE)
    best: tuple[int, np.ndarray] | None = None
    for candidate in candidates:
        errors, bits = _read_at(_luma(candidate), scale, deadline)
        if errors <= MAX_SYNC_ERRORS and _valid(bits):
            ident = int("".join(map(str, bits[SYNC_BITS:SYNC_BITS + ID_BITS])), 2)
            return MarkReading(True, ident, errors, bits, chance)
        if best is None or errors < best[0]:
            best = (errors, bits)
    assert best is not None
    return MarkReading(False, None, best[0], best[1], chance)
