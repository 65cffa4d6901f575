"""`figment dataset build`: aligned faces into a compact training archive.

All held-out faces go in (marked held-out: evaluation compares with them, training never
sees them); then every train face, or as many as fit a byte budget, in a seeded random order.
x-flips are left to training. The format is generator/training/archive.py's: one file, or a folder of
shards of at most `shard_bytes` each (so each fits one call to a GPU machine).

The codec is WebP at quality 80 by default: measured by `python -m generator.bench.codec` on 1,000
faces at 128 px, 2.2 KB a face at 36.7 dB PSNR and 0.08 of FD_face, against JPEG quality 85 at
3.9 KB, 37.9 dB and 0.04 (the README has the table).
"""
from __future__ import annotations

import multiprocessing
import os
import random
import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from PIL import Image

from bot.photos.split import HELDOUT
from generator.training.archive import HELDOUT as ARCHIVE_HELDOUT
from generator.training.archive import TRAIN as ARCHIVE_TRAIN
from generator.training.archive import ArchiveEntry, encode_image, read_meta, write_archive

MIB = 1024 * 1024
# Headers, offsets and the meta JSON: what the archive adds to the JPEG bytes.
FIXED_OVERHEAD = 64 * 1024
PER_IMAGE_OVERHEAD = 8 + 1 + 1  # an offset, a split and a source byte


@dataclass
class DatasetOptions:
    out: Path
    packs: list[str] = field(default_factory=list)  # empty: every pack
    res: int = 128
    quality: int = 80
    max_bytes: int | None = None  # None: every face
    seed: int = 0
    workers: int = 0  # 0: one per core
    codec: str = "webp"  # webp | jpeg
    shard_bytes: int | None = None  # None: one file; else `out` is a folder of shards this size at most


@dataclass
class Candidate:
    path: str      # the stored aligned face, absolute
    pack: str
    heldout: bool


CODECS = ("webp", "jpeg")  # what an archive may use (AVIF is slow to encode and may be missing on a GPU box)


def encode_face(path: str, res: int, quality: int, codec: str = "webp") -> bytes | None:
    """The aligned face at `res`, encoded (None if its file is gone or broken)."""
    try:
        with Image.open(path) as image:
            face = image.convert("RGB")
    except OSError:
        return None
    if face.size != (res, res):
        face = face.resize((res, res), Image.Resampling.LANCZOS)
    return encode_image(face, codec, quality)


def _encode(job: tuple[str, int, int, str]) -> bytes | None:
    return encode_face(*job)


def order(candidates: list[Candidate], seed: int) -> list[Candidate]:
    """Held-out faces first (all of them go in), then train faces shuffled with the seed."""
    heldout = [c for c in candidates if c.heldout]
    train = [c for c in candidates if not c.heldout]
    random.Random(seed).shuffle(train)
    return heldout + train


def _encoded(jobs: list[tuple[str, int, int, str]], workers: int) -> Iterator[bytes | None]:
    if workers <= 1:
        yield from map(_encode, jobs)
        return
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        yield from pool.imap(_encode, jobs, chunksize=32)


def select_entries(candidates: list[Candidate], options: DatasetOptions,
                   progress: Callable[[int, int], None] | None = None) -> tuple[list[ArchiveEntry], int]:
    """The entries that fit the budget, and how many faces could not be read."""
    ordered = order(candidates, options.seed)
    budget = options.max_bytes - FIXED_OVERHEAD if options.max_bytes else None
    entries: list[ArchiveEntry] = []
    missing = used = 0
    jobs = [(c.path, options.res, options.quality, options.codec) for c in ordered]
    workers = options.workers or os.cpu_count() or 1
    for done, (candidate, data) in enumerate(zip(ordered, _encoded(jobs, workers)), start=1):
        if progress:
            progress(done, len(ordered))
        if data is None:
            missing += 1
            continue
        cost = len(data) + PER_IMAGE_OVERHEAD
        if budget is not None and used + cost > budget:
            if candidate.heldout:
                raise ValueError(f"the held-out faces alone do not fit in {budget / MIB:.1f} MiB "
                                 "at this resolution and quality")
            break  # train faces come in random order: stopping here keeps a random subset
        used += cost
        entries.append(ArchiveEntry(data, ARCHIVE_HELDOUT if candidate.heldout else ARCHIVE_TRAIN,
                                    candidate.pack))
    return entries, missing


def build_dataset(rows: list[Any], data_dir: Path, options: DatasetOptions,
                  progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Write the archive from RealPhoto rows; return its meta (with 'bytes' and 'missing' added)."""
    if not 8 <= options.res <= 1024:
        raise ValueError("the resolution must be between 8 and 1024 pixels")
    if not 1 <= options.quality <= 100:
        raise ValueError("the quality must be between 1 and 100")
    if options.codec not in CODECS:
        raise ValueError(f"unknown codec {options.codec!r}: use {' or '.join(CODECS)}")
    candidates = [Candidate(str(data_dir / r.stored_path), r.pack, r.split == HELDOUT) for r in rows]
    if not candidates:
        raise ValueError("no photos to build from: import some with `figment photos import` first")
    entries, missing = select_entries(candidates, options, progress)
    available: dict[str, dict[str, int]] = defaultdict(lambda: {"train": 0, "heldout": 0})
    for c in candidates:
        available[c.pack]["heldout" if c.heldout else "train"] += 1
    per_source: dict[str, dict[str, int]] = defaultdict(lambda: {"train": 0, "heldout": 0})
    for e in entries:
        per_source[e.source]["heldout" if e.split == ARCHIVE_HELDOUT else "train"] += 1
    meta = {
        "resolution": options.res, "codec": options.codec, "quality": options.quality, "seed": options.seed,
        "alignment": "ffhq-style (eyes and mouth), dlib 68 landmarks", "flip": "none: x-flip is left to training",
        "packs": sorted(available), "per_source": dict(per_source), "available": dict(available),
        "max_bytes": options.max_bytes,  # no timestamp: the same inputs and seed give the same file
    }
    if options.shard_bytes:
        meta, size = write_shards(options.out, entries, meta, options.shard_bytes)
    else:
        meta, size = write_one(options.out, entries, meta, options.max_bytes)
    return {**meta, "bytes": size, "missing": missing}


def write_one(out: Path, entries: list[ArchiveEntry], meta: dict[str, Any], max_bytes: int | None) -> tuple[dict, int]:
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".part")
    try:
        meta = write_archive(partial, entries, meta)
        size = partial.stat().st_size
        if max_bytes and size > max_bytes:  # the overhead estimate was wrong: never ship an archive over budget
            raise ValueError(f"archive came out at {size} bytes, over the {max_bytes} byte budget")
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)  # gone after the replace; a failed build leaves nothing behind
    return meta, size


def write_shards(out: Path, entries: list[ArchiveEntry], meta: dict[str, Any],
                 shard_bytes: int) -> tuple[dict, int]:
    """`out/part-000.npz`, ...: consecutive runs of the entries (held-out first), each within shard_bytes.
    The folder is written beside and swapped in whole, so a failed build leaves the old one."""
    if shard_bytes <= FIXED_OVERHEAD:
        raise ValueError(f"a shard must be larger than {FIXED_OVERHEAD // 1024} KiB")
    groups: list[list[ArchiveEntry]] = [[]]
    used = FIXED_OVERHEAD
    for entry in entries:
        cost = len(entry.jpeg) + PER_IMAGE_OVERHEAD
        if groups[-1] and used + cost > shard_bytes:
            groups.append([])
            used = FIXED_OVERHEAD
        groups[-1].append(entry)
        used += cost
    partial = out.with_name(out.name + ".part")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        metas, size = [], 0
        for index, group in enumerate(groups):
            path = partial / f"part-{index:03d}.npz"
            metas.append(write_archive(path, group, {**meta, "shard": index, "shards": len(groups)}))
            size += path.stat().st_size
            if path.stat().st_size > shard_bytes:
                raise ValueError(f"shard {path.name} came out at {path.stat().st_size} bytes, over {shard_bytes}")
        shutil.rmtree(out, ignore_errors=True)
        os.replace(partial, out)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return read_meta(out), size
