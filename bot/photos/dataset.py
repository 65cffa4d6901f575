"""`figment dataset build`: aligned faces into one compact training archive.

All held-out faces go in (marked held-out: evaluation compares with them, training never
sees them); train faces fill the rest of the byte budget in a seeded random order. x-flips
are left to training. The format is generator/archive.py's.
"""
from __future__ import annotations

import io
import multiprocessing
import os
import random
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from PIL import Image

from bot.photos.split import HELDOUT
from generator.archive import HELDOUT as ARCHIVE_HELDOUT
from generator.archive import TRAIN as ARCHIVE_TRAIN
from generator.archive import ArchiveEntry, write_archive

MIB = 1024 * 1024
# Headers, offsets and the meta JSON: what the archive adds to the JPEG bytes.
FIXED_OVERHEAD = 64 * 1024
PER_IMAGE_OVERHEAD = 8 + 1 + 1  # an offset, a split and a source byte


@dataclass
class DatasetOptions:
    out: Path
    packs: list[str] = field(default_factory=list)  # empty: every pack
    res: int = 128
    quality: int = 85  # measured at 128 px: ~4.0 KB a face, 14,700 in 56 MiB (q90: 4.8 KB, 12,100)
    max_bytes: int = 56 * MIB
    seed: int = 0
    workers: int = 0  # 0: one per core


@dataclass
class Candidate:
    path: str      # the stored aligned face, absolute
    pack: str
    heldout: bool


def encode_face(path: str, res: int, quality: int) -> bytes | None:
    """The aligned face at `res`, as JPEG bytes (None if its file is gone or broken)."""
    try:
        with Image.open(path) as image:
            face = image.convert("RGB")
    except OSError:
        return None
    if face.size != (res, res):
        face = face.resize((res, res), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    face.save(buffer, format="JPEG", quality=quality, subsampling="4:2:0", optimize=True)
    return buffer.getvalue()


def _encode(job: tuple[str, int, int]) -> bytes | None:
    return encode_face(*job)


def order(candidates: list[Candidate], seed: int) -> list[Candidate]:
    """Held-out faces first (all of them go in), then train faces shuffled with the seed."""
    heldout = [c for c in candidates if c.heldout]
    train = [c for c in candidates if not c.heldout]
    random.Random(seed).shuffle(train)
    return heldout + train


def _encoded(jobs: list[tuple[str, int, int]], workers: int) -> Iterator[bytes | None]:
    if workers <= 1:
        yield from map(_encode, jobs)
        return
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        yield from pool.imap(_encode, jobs, chunksize=32)


def select_entries(candidates: list[Candidate], options: DatasetOptions,
                   progress: Callable[[int, int], None] | None = None) -> tuple[list[ArchiveEntry], int]:
    """The entries that fit the budget, and how many faces could not be read."""
    ordered = order(candidates, options.seed)
    budget = options.max_bytes - FIXED_OVERHEAD
    entries: list[ArchiveEntry] = []
    missing = used = 0
    jobs = [(c.path, options.res, options.quality) for c in ordered]
    workers = options.workers or os.cpu_count() or 1
    for done, (candidate, data) in enumerate(zip(ordered, _encoded(jobs, workers)), start=1):
        if progress:
            progress(done, len(ordered))
        if data is None:
            missing += 1
            continue
        cost = len(data) + PER_IMAGE_OVERHEAD
        if used + cost > budget:
            if candidate.heldout:
                raise ValueError(f"the held-out faces alone do not fit in {options.max_bytes / MIB:.1f} MiB "
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
        raise ValueError("the JPEG quality must be between 1 and 100")
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
        "resolution": options.res, "quality": options.quality, "subsampling": "4:2:0", "seed": options.seed,
        "alignment": "ffhq-style (eyes and mouth), dlib 68 landmarks", "flip": "none: x-flip is left to training",
        "packs": sorted(available), "per_source": dict(per_source), "available": dict(available),
        "max_bytes": options.max_bytes,  # no timestamp: the same inputs and seed give the same file
    }
    options.out.parent.mkdir(parents=True, exist_ok=True)
    partial = options.out.with_name(options.out.name + ".part")
    try:
        meta = write_archive(partial, entries, meta)
        size = partial.stat().st_size
        if size > options.max_bytes:  # the overhead estimate was wrong: never ship an archive over budget
            raise ValueError(f"archive came out at {size} bytes, over the {options.max_bytes} byte budget")
        os.replace(partial, options.out)
    finally:
        partial.unlink(missing_ok=True)  # gone after the replace; a failed build leaves nothing behind
    return {**meta, "bytes": size, "missing": missing}
