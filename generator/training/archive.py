"""The training archive: aligned faces as encoded image bytes (JPEG, WebP, ...) in uncompressed .npz files.

Keys: `jpeg` (uint8, all images' encoded bytes back to back, whatever the codec: the name is the
first format's), `offsets` (int64, N+1), `split` (uint8: 0 train, 1 held-out), `source` (uint8
index into meta['sources']), `meta` (JSON as uint8 bytes: resolution, codec, quality, seed,
sources, counts).

An archive is one such file, or a folder of them (shards, each a whole archive of its own, so
that each fits what one call to a GPU machine can carry): reading a folder reads every `*.npz` in
it, in name order, as one archive. Decoded once, at load, into one uint8 array, on every core
(Pillow decodes outside the GIL).
"""
from __future__ import annotations

import io
import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np
from PIL import Image

TRAIN, HELDOUT = 0, 1


@dataclass
class ArchiveEntry:
    jpeg: bytes  # the encoded image, in the archive's codec
    split: int
    source: str


CODECS = ("webp", "jpeg", "avif")  # avif: measured for the choice only (slow, and not on every Pillow)


def encode_image(image: Image.Image, codec: str, quality: int) -> bytes:
    """The archive's encoding of one face (the codec choice is measured by generator/bench/codec.py)."""
    buffer = io.BytesIO()
    if codec == "webp":
        image.save(buffer, format="WEBP", quality=quality, method=6)
    elif codec == "jpeg":
        image.save(buffer, format="JPEG", quality=quality, subsampling="4:2:0", optimize=True)
    elif codec == "avif":
        image.save(buffer, format="AVIF", quality=quality, speed=4)
    else:
        raise ValueError(f"unknown codec {codec!r}: use {' or '.join(CODECS)}")
    return buffer.getvalue()


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


def archive_files(path: Path) -> list[Path]:
    """The .npz files of an archive: the file itself, or a folder's shards in name order."""
    if path.is_dir():
        files = sorted(path.glob("*.npz"))
        if not files:
            raise ValueError(f"{path}: no archive shards (*.npz) in this folder")
        return files
    if not path.is_file():
        raise ValueError(f"{path}: training archive not found")
    return [path]


def _read_meta_file(path: Path) -> dict[str, Any]:
    try:
        with np.load(path) as data:
            return json.loads(data["meta"].tobytes())
    except (OSError, ValueError, KeyError) as error:
        raise ValueError(f"{path}: not a Figment dataset archive ({error})") from error


def read_meta(path: Path) -> dict[str, Any]:
    """The meta of an archive; for a folder of shards, the first shard's with the counts summed."""
    metas = [_read_meta_file(file) for file in archive_files(path)]
    meta = dict(metas[0])
    if len(metas) > 1:
        for key in ("count", "train", "heldout"):
            meta[key] = sum(int(m.get(key, 0)) for m in metas)
        meta["sources"] = sorted({s for m in metas for s in m.get("sources", [])})
        meta["shards"] = len(metas)
    return meta


def _decode(raw: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(raw)) as image:
        return np.asarray(image.convert("RGB"))


def load_archive(path: Path, split: int | None = TRAIN, limit: int | None = None,
                 workers: int | None = None) -> FaceArchive:
    """Decode the archive's images of one split (None: all) into one uint8 array."""
    raws: list[bytes] = []
    sources: list[str] = []
    meta: dict[str, Any] = {}
    for file in archive_files(path):
        try:
            data = np.load(file)
        except (OSError, ValueError) as error:
            raise ValueError(f"{file}: not a Figment dataset archive ({error})") from error
        with data:
            part_meta = json.loads(data["meta"].tobytes())
            if meta and part_meta["resolution"] != meta["resolution"]:
                raise ValueError(f"{file}: {part_meta['resolution']} px faces among {meta['resolution']} px shards")
            meta = meta or part_meta
            blob, offsets = data["jpeg"], data["offsets"]
            chosen = np.arange(len(offsets) - 1) if split is None else np.flatnonzero(data["split"] == split)
            names = part_meta["sources"]
            for index in chosen:
                raws.append(blob[offsets[index]:offsets[index + 1]].tobytes())
                sources.append(names[data["source"][index]])
        if limit is not None and len(raws) >= limit:
            break
    raws, sources = raws[:limit], sources[:limit]
    res = int(meta["resolution"])
    images = np.empty((len(raws), res, res, 3), dtype=np.uint8)
    with ThreadPoolExecutor(workers or os.cpu_count() or 1) as pool:
        for row, image in enumerate(pool.map(_decode, raws)):
            images[row] = image
    names = sorted(set(sources))
    meta = {**meta, "sources": names} if len(archive_files(path)) > 1 else meta
    source = np.array([meta["sources"].index(s) for s in sources], dtype=np.uint8)
    return FaceArchive(images, source, meta)


def split_digest(path: Path, split: int = HELDOUT, limit: int | None = None) -> str:
    """A short hash of the encoded bytes of one split's faces (the first `limit`), in archive order:
    it names an evaluation set whatever the shard sizes, and changes with any face or its encoding."""
    import hashlib

    digest = hashlib.sha256()
    count = 0
    for file in archive_files(path):
        with np.load(file) as data:
            blob, offsets = data["jpeg"], data["offsets"]
            for index in np.flatnonzero(data["split"] == split):
                if limit is not None and count >= limit:
                    break
                digest.update(blob[offsets[index]:offsets[index + 1]].tobytes())
                count += 1
    return f"{count}:{digest.hexdigest()[:10]}"
