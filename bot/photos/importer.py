"""`figment photos import`: photos in, aligned faces and RealPhoto rows out; resumable.

Workers (one per core) decode, find, align and hash; this process deduplicates, writes the
aligned faces and the rows in small batches. A batch's files are written before its rows are
committed, and a file the import has seen is in the database (imported) or in the pack's
journal (rejected), so an interrupted import picks up where it stopped and a re-run adds nothing.
"""
from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
from PIL import Image
from sqlalchemy import select

from db.database import Database
from bot.photos import reasons
from bot.photos.hashing import CANDIDATE_BITS, hamming, same_picture, thumbnail
from bot.photos.process import AlignOptions, Processed, init_worker, process_file
from bot.photos.split import DEFAULT_HELDOUT, split_for
from bot.photos.store import Journal, check_pack_name, import_lock, stored_path, write_atomically
from bot.photos.walk import walk_sources
from db.models import RealPhoto

BATCH = 64
BATCH_SECONDS = 5.0

Progress = Callable[[int, int], None]


@dataclass
class ImportOptions:
    pack: str
    source: str = ""
    licence: str = ""
    heldout: float = DEFAULT_HELDOUT
    split_seed: int = 0
    workers: int = 0  # 0: one per core
    align: AlignOptions = field(default_factory=AlignOptions)


@dataclass
class ImportSummary:
    found: int = 0             # photo files under the sources
    seen_before: int = 0       # imported or rejected by an earlier run: skipped
    imported: int = 0
    heldout: int = 0
    rejects: Counter[str] = field(default_factory=Counter)
    other_files: int = 0
    links_outside: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    # Sums of aligned eye and mouth positions (shares of the side), for the framing check.
    points_sum: np.ndarray = field(default_factory=lambda: np.zeros((3, 2)))

    @property
    def processed(self) -> int:
        return self.imported + sum(self.rejects.values())

    @property
    def aligned(self) -> int:
        """Photos whose face was found and aligned (duplicates included: they had one too)."""
        return self.imported + self.rejects[reasons.DUPLICATE] + self.rejects[reasons.NEAR_DUPLICATE]

    @property
    def rate(self) -> float:
        return self.processed / self.seconds if self.seconds > 0 else 0.0

    @property
    def mean_points(self) -> np.ndarray | None:
        return self.points_sum / self.imported if self.imported else None


class _Known:
    """Hashes of every photo already imported (all packs): duplicates are imported once."""

    def __init__(self, data_dir: Path, rows: list[tuple[str, int, str, str, str]]) -> None:
        self.data_dir = data_dir
        self.content = {content: f"{pack}: {path}" for content, _, pack, path, _ in rows}
        self.perceptual = np.array([p for _, p, _, _, _ in rows], dtype=np.int64)
        self.labels = [f"{pack}: {path}" for _, _, pack, path, _ in rows]
        self.stored = [stored for *_, stored in rows]
        self.thumbs: list[bytes | None] = [None] * len(rows)  # read from the stored face when needed

    def _thumb(self, index: int) -> bytes | None:
        if self.thumbs[index] is None:
            try:
                with Image.open(self.data_dir / self.stored[index]) as image:
                    self.thumbs[index] = thumbnail(image)
            except OSError:
                return None
        return self.thumbs[index]

    def duplicate_of(self, result: Processed) -> tuple[str, str] | None:
        if result.content_hash in self.content:
            return reasons.DUPLICATE, f"same file as {self.content[result.content_hash]}"
        if len(self.perceptual):
            for index in np.flatnonzero(hamming(self.perceptual, result.perceptual_hash) <= CANDIDATE_BITS):
                thumb = self._thumb(int(index))
                if thumb is not None and same_picture(thumb, result.thumb):
                    return reasons.NEAR_DUPLICATE, f"same picture as {self.labels[index]}"
        return None

    def add(self, result: Processed, pack: str, stored: str) -> None:
        self.content[result.content_hash] = f"{pack}: {result.path}"
        self.perceptual = np.append(self.perceptual, np.int64(result.perceptual_hash))
        self.labels.append(f"{pack}: {result.path}")
        self.stored.append(stored)
        self.thumbs.append(result.thumb)


def _ignore_sigint() -> None:
    # Ctrl-C reaches the whole process group: the parent decides, workers just get stopped.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _worker_start(options: AlignOptions) -> None:
    _ignore_sigint()
    init_worker(options)


class _Results:
    """Processed photos from a pool of workers (or in this process when there is one worker)."""

    def __init__(self, items: list[tuple[str, str | None]], options: AlignOptions, workers: int) -> None:
        self.pool = None
        self.stopped = False
        if workers <= 1:
            init_worker(options)
            self.iterator: Iterator[Processed] = map(process_file, items)
        else:
            context = multiprocessing.get_context("spawn")  # no fork of a process with threads
            self.pool = context.Pool(workers, initializer=_worker_start, initargs=(options,))
            # chunksize 1: only then is the iterator one whose next() takes a timeout.
            self.pool_results = self.pool.imap_unordered(process_file, items, chunksize=1)

    def next(self) -> Processed | None:
        """The next result; None when all are done or the import was stopped."""
        if self.pool is None:
            return next(self.iterator, None)
        while not self.stopped:
            try:
                # A short wait, so a thread waiting here notices a stop (and asyncio can shut down).
                return self.pool_results.next(timeout=0.25)
            except multiprocessing.TimeoutError:
                continue
            except StopIteration:
                return None
        return None

    def close(self, finished: bool) -> None:
        self.stopped = True
        if self.pool is None:
            return
        if finished:
            self.pool.close()
        else:
            self.pool.terminate()
        self.pool.join()


async def import_photos(db_url: str, data_dir: Path, sources: list[Path], options: ImportOptions,
                        progress: Progress | None = None) -> ImportSummary:
    check_pack_name(options.pack)
    if not 0.0 <= options.heldout <= 1.0:
        raise ValueError("the held-out share must be between 0 and 1")
    with import_lock(data_dir):
        return await _import_locked(db_url, data_dir, sources, options, progress)


async def _import_locked(db_url: str, data_dir: Path, sources: list[Path], options: ImportOptions,
                         progress: Progress | None) -> ImportSummary:
    started = time.monotonic()
    walked = walk_sources(sources)
    summary = ImportSummary(found=len(walked.files), other_files=walked.other_files,
                            links_outside=walked.links_outside)
    database = Database(db_url)
    try:
        await database.ensure_schema()
        async with database.transaction() as session:
            rows = (await session.execute(select(
                RealPhoto.content_hash, RealPhoto.perceptual_hash, RealPhoto.pack, RealPhoto.source_path,
                RealPhoto.stored_path))).all()
        known = _Known(data_dir, [tuple(r) for r in rows])  # type: ignore[misc]
        journal = Journal(data_dir, options.pack)
        done = {path for _, _, pack, path, _ in rows if pack == options.pack} | set(journal.read())
        todo = [(str(f.path), f.identity) for f in walked.files if str(f.path) not in done]
        summary.seen_before = summary.found - len(todo)
        if progress:
            progress(0, len(todo))
        if todo:
            await _run(database, data_dir, todo, options, known, journal, summary, progress)
    finally:
        await database.close()
        summary.seconds = time.monotonic() - started
    return summary


async def _run(database: Database, data_dir: Path, todo: list[tuple[str, str | None]], options: ImportOptions,
               known: _Known, journal: Journal, summary: ImportSummary, progress: Progress | None) -> None:
    workers = options.workers or os.cpu_count() or 1
    results = _Results(todo, options.align, min(workers, len(todo)))
    rows: list[RealPhoto] = []
    rejected: list[tuple[str, str, str]] = []
    flushed = time.monotonic()

    async def flush() -> None:
        nonlocal rows, rejected, flushed
        if rows:
            async with database.transaction() as session:
                session.add_all(rows)
        journal.append(rejected)
        rows, rejected, flushed = [], [], time.monotonic()

    finished = False
    try:
        while True:
            result = await asyncio.to_thread(results.next)
            if result is None:
                finished = True
                break
            duplicate = None if result.reason else known.duplicate_of(result)
            if result.reason or duplicate:
                reason, detail = duplicate or (result.reason, result.detail)
                summary.rejects[reason] += 1
                rejected.append((result.path, reason, detail))
            else:
                rows.append(_store(data_dir, result, options))
                known.add(result, options.pack, rows[-1].stored_path)
                summary.imported += 1
                summary.heldout += rows[-1].split == "heldout"
                summary.points_sum += np.asarray(result.points)
            if progress:
                progress(summary.processed, len(todo))
            if len(rows) + len(rejected) >= BATCH or time.monotonic() - flushed > BATCH_SECONDS:
                await flush()
    except (KeyboardInterrupt, asyncio.CancelledError):
        summary.interrupted = True
    finally:
        results.close(finished)
        await flush()  # what was finished before an interruption is kept


def _store(data_dir: Path, result: Processed, options: ImportOptions) -> RealPhoto:
    relative = stored_path(options.pack, result.content_hash)
    write_atomically(data_dir / relative, result.png)
    return RealPhoto(pack=options.pack, source_path=result.path, source=options.source, licence=options.licence,
                     content_hash=result.content_hash, perceptual_hash=result.perceptual_hash,
                     stored_path=relative, identity=result.identity,
                     split=split_for(options.pack, result.identity, result.content_hash, options.heldout,
                                     options.split_seed))
