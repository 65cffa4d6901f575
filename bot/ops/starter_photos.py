"""First run: when the photo store is empty, import a seeded sample of a named folder in the
background, so the quiz becomes playable with no extra step.

FIGMENT_STARTER_PHOTOS names the folder (`make demo` sets it to ../shared/faces where that
exists). The sample is drawn with a fixed seed, so every first run imports the same photos, and
the import is the ordinary one (bot.photos.importer): aligned, deduplicated, resumable. Its
photos are all held out (the quiz shows only held-out photos; training never sees them).
Without the setting nothing is imported and the page says how to import photos.
"""
from __future__ import annotations

import asyncio
import enum
import logging
import os
import random
import time
from pathlib import Path
from typing import Callable

from sqlalchemy import func, select

from bot import texts
from db.database import Database
from bot.settings import Settings
from db.models import RealPhoto

log = logging.getLogger(__name__)

STARTER_PACK = "starter"
SAMPLE_SEED = 14
PROGRESS_EVERY_SECONDS = 1.0  # the page is told at most this often while photos come in


class State(enum.Enum):
    NOT_NEEDED = "not_needed"  # the store has photos of other packs: nothing to do, nothing to say
    NO_FOLDER = "no_folder"  # no setting: the page says how to import photos
    MISSING = "missing"  # the setting names a folder that is not there
    IMPORTING = "importing"
    READY = "ready"
    FAILED = "failed"


def sample_files(folder: Path, count: int, seed: int = SAMPLE_SEED) -> list[Path]:
    """`count` photo files under folder, the same ones every time (a seeded draw, sorted)."""
    from bot.photos.walk import walk_sources

    files = sorted(f.path for f in walk_sources([folder]).files)
    return sorted(random.Random(seed).sample(files, min(count, len(files))))


class StarterPhotos:
    def __init__(self, settings: Settings, db: Database, workers: int | None = None) -> None:
        self.settings = settings
        self.db = db
        self.folder = settings.starter_photos
        self.workers = workers or min(2, os.cpu_count() or 1)  # processes: the page stays responsive
        self.state = State.NOT_NEEDED
        self.done = self.total = self.imported = 0
        self.error = ""
        self._listeners: list[Callable[[], None]] = []
        self._told = 0.0
        self._task: asyncio.Task[None] | None = None

    def on_change(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    @property
    def busy(self) -> bool:
        return self.state is State.IMPORTING

    async def start(self) -> None:
        """Decide what to do and, on a first run with a folder, start the import in the background."""
        other_photos, starter_photos = await self._counts()
        if other_photos:
            self.state = State.NOT_NEEDED
        elif self.folder is None:
            self.state = State.NO_FOLDER if not starter_photos else State.NOT_NEEDED
        elif not self.folder.is_dir():
            self.state = State.MISSING if not starter_photos else State.NOT_NEEDED
        else:  # also after an interrupted first run: the import resumes where it stopped
            self.state, self.imported = State.IMPORTING, starter_photos
            self._task = asyncio.create_task(self._import(), name="starter-photos")
        self._tell(force=True)

    async def aclose(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def wait(self) -> None:
        """Until the import (if any) has ended (for tests)."""
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    def text(self, t: texts.Texts = texts.EN) -> str:
        """What the page says about the photos now, in t's language ('' when there is nothing to say)."""
        folder = str(self.folder)
        if self.state is State.NO_FOLDER:
            return t.starter_no_folder()
        if self.state is State.MISSING:
            return t.starter_missing(folder)
        if self.state is State.IMPORTING:
            return t.starter_importing(folder, self.settings.starter_sample, self.done, self.total, self.imported)
        if self.state is State.READY:
            return t.starter_ready(folder, self.imported)
        if self.state is State.FAILED:
            return t.starter_failed(self.error)
        return ""

    async def _counts(self) -> tuple[int, int]:
        async with self.db.transaction() as session:
            rows = dict((await session.execute(
                select(RealPhoto.pack == STARTER_PACK, func.count()).group_by(RealPhoto.pack == STARTER_PACK))).all())
        return int(rows.get(False, 0)), int(rows.get(True, 0))

    async def _import(self) -> None:
        from bot.photos.importer import ImportOptions, import_photos  # dlib and workers: only when needed

        assert self.folder is not None
        try:
            files = await asyncio.to_thread(sample_files, self.folder, self.settings.starter_sample)
            options = ImportOptions(STARTER_PACK, texts.starter_source(self.folder.name), texts.STARTER_LICENCE,
                                    heldout=1.0, workers=self.workers)
            summary = await import_photos(self.settings.db_url, self.settings.data_dir, files, options,
                                          self._progress)
            self.imported += summary.imported
            self.state = State.READY
            log.info("starter photos: %d imported from %s (%d rejected)", summary.imported, self.folder,
                     sum(summary.rejects.values()))
        except asyncio.CancelledError:
            raise
        except Exception as error:  # e.g. another import holds the lock: said on the page
            log.exception("the starter photos could not be imported")
            self.state, self.error = State.FAILED, str(error)
        self._tell(force=True)

    def _progress(self, done: int, total: int) -> None:
        self.done, self.total = done, total
        self._tell()

    def _tell(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._told < PROGRESS_EVERY_SECONDS:
            return
        self._told = now
        for listener in self._listeners:
            try:
                listener()
            except Exception:  # the page is a nicety: the import goes on
                log.exception("a starter photos listener failed")
