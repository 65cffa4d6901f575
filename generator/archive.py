"""The training archive: aligned faces as JPEG bytes in one uncompressed .npz file.

Keys: `jpeg` (uint8, all images' bytes back to back), `offsets` (int64, N+1), `split`
(uint8: 0 train, 1 held-out), `source` (uint8 index into meta['sources']), `meta` (JSON as
uint8 bytes: resolution, quality, seed, sources, counts). Small enough to carry to a GPU box;
decoded once, at load, into one uint8 array.
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np
from PIL import Image

TRAIN, HELDOUT = 0, 1


@dataclass
class ArchiveEntry:
    jpeg: bytes
    split: int
    source: str


def write_archive(path: Path, entries: Iterable[ArchiveEntry], meta: dict[str, Any]) -> dict[str, Any]:
    entries = list(entries)
    sources = sorted({e.source for e in entries})
    offsets = np.zeros(len(entries) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(e.jpeg) for e in entries])
    blob = np.frombuffer(b"".join(e.jpeg for e in entries), dtype=np.uint8)
    split = np.array([e.split for e in entries], dtype=np.uint8)
    source = np.array([sources.index(e.source) for e in entries], dtype=np.uint8)
    meta = {**meta, "sources": sources, "count": len(entries),
            "train": int((split == TRAIN).sum()), "heldout": int((split == HELDOUT).sum())}
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        np.savez(handle, jpeg=blob, offsets=offsets, split=split, source=source,
                 meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
    return meta


@dataclass
class FaceArchive:
    images: np.ndarray  # N x H x W x 3, uint8
    source: np.ndarray  # N, index into meta['sources']
    meta: dict[str, Any]


def read_meta(path: Path) -> dict[str, Any]:
    with np.load(path) as data:
        return json.loads(data["meta"].tobytes())


def load_archive(path: Path, split: int | None = TRAIN, limit: int | None = None) -> FaceArchive:
    """Decode the archive's images of one split (None: all) into one uint8 array."""
    try:
        data = np.load(path)
    except (OSError, ValueError) as error:
        raise ValueError(f"{path}: not a Figment dataset archive ({error})") from error
    with data:
        meta = json.loads(data["meta"].tobytes())
        blob, offsets = data["jpeg"], data["offsets"]
        chosen = np.arange(len(offsets) - 1) if split is None else np.flatnonzero(data["split"] == split)
        if limit is not None:
            chosen = chosen[:limit]
        res = int(meta["resolution"])
        images = np.empty((len(chosen), res, res, 3), dtype=np.uint8)
        for row, index in enumerate(chosen):
            raw = blob[offsets[index]:offsets[index + 1]].tobytes()
            with Image.open(io.BytesIO(raw)) as image:
                images[row] = np.asarray(image.convert("RGB"))
        return FaceArchive(images, data["source"][chosen], meta)
