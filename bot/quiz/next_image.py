"""The next round's image, made ahead and chosen late, so a post's timing says nothing.

RoundImages prepares single rounds, PairImages (below) pair rounds. One real photo and one
generated face are kept ready. A round's truth is drawn only once both are there, so how long a post waits (a slow generator, an empty pool) is the same whichever
truth comes up; the image taken is refilled while its round runs. Real and generated images
pass through the one quiz pipeline (bot.imaging).

A pair needs one real photo and one generated face. Both arrangements (real on A, real on B)
are composed while the round before runs, so taking either costs nothing and a post's timing
says nothing about which side is real (bot.quiz.pair_image composes them).
"""
from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Awaitable, Callable

from PIL import Image

from bot import texts
from db.database import Database
from bot.errors import UserError
from bot.imaging import PostedImage, load_rgb, quiz_image
from bot.quiz.pair_image import pair_image
from bot.settings import Settings
from db.hall import HallRow
from db.models import RealPhoto
from db.quiz_photos import count_quiz_photos, quiz_photo_at
from generator.interface import FaceSource
from generator.interface import GeneratedFace as MadeFace

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RoundImage:
    """A round's image, made before the round opens."""

    posted: PostedImage
    is_real: bool
    face: MadeFace | None  # for a generated face: its seed, truncation and model
    photo_id: int | None  # for a real photo: its record
    face_id: int | None = None  # a face shown before (from the hall of fakes): its record


class RoundImages:
    """`hall`, for a hard game, lists the hall of fakes: its faces not yet shown in this game are
    shown again (made from their seeds) before fresh ones."""

    def __init__(self, db: Database, source: FaceSource, settings: Settings,
                 hall: Callable[[], Awaitable[list[HallRow]]] | None = None) -> None:
        self.db = db
        self.source = source
        self.settings = settings
        self.hall = hall
        self._shown_hall_faces: set[int] = set()
        self._real: RoundImage | None = None
        self._fake: RoundImage | None = None

    async def fill(self) -> None:
        """Make whatever is missing: a generated face, and a real photo if one can be read.
        Generator errors reach the caller (the game stops and says why)."""
        real = asyncio.create_task(self._make_real()) if self._real is None else None
        try:
            if self._fake is None:
                self._fake = await self._make_fake()
            if real is not None:
                self._real = await real
        finally:
            if real is not None:
                real.cancel()  # only matters when making the face failed or was cancelled

    def take(self, want_real: bool) -> RoundImage:
        """The image for a round whose coin said want_real; fill() first. With no readable real
        photo, a generated face is shown: the truth is what is shown."""
        if want_real and self._real is not None:
            image, self._real = self._real, None
        else:
            assert self._fake is not None, "fill() comes first"
            image, self._fake = self._fake, None
        return image

    async def _make_fake(self) -> RoundImage:
        if self.hall is not None:
            rows = [r for r in await self.hall() if r.face_id not in self._shown_hall_faces]
            if rows:
                row = rows[secrets.randbelow(len(rows))]
                self._shown_hall_faces.add(row.face_id)
                face = await self.source.face(row.seed, row.truncation)
                return RoundImage(await self._posted(face.image), False, face, None, row.face_id)
        psi = self.settings.quiz_psis[secrets.randbelow(len(self.settings.quiz_psis))]
        face = await self.source.face(None, psi)
        return RoundImage(await self._posted(face.image), False, face, None)

    async def _make_real(self) -> RoundImage | None:
        photo = await self._random_photo()
        if photo is None:
            log.warning("no real photo could be read; the next rounds may all be generated")
            return None
        image = await asyncio.to_thread(load_rgb, self._photo_path(photo))
        return RoundImage(await self._posted(image), True, None, photo.id)

    async def _posted(self, image: Image.Image) -> PostedImage:
        return await asyncio.to_thread(quiz_image, image, self.settings.posted_size,
                                       self.settings.quiz_detail)

    async def _random_photo(self) -> RealPhoto | None:
        packs = self.settings.photo_packs
        for _ in range(3):  # a photo file may have gone missing: try another
            async with self.db.transaction() as session:
                count = await count_quiz_photos(session, packs)
                if count == 0:
                    return None
                photo = await quiz_photo_at(session, packs, secrets.randbelow(count))
            if photo is not None and self._photo_path(photo).exists():
                return photo
        return None

    def _photo_path(self, photo: RealPhoto) -> Path:
        """Stored paths are relative to the data directory (absolute ones are kept)."""
        return self.settings.data_dir / photo.stored_path  # pathlib keeps an absolute right side


@dataclass(frozen=True)
class _ReadyPair:
    real_on_a: PostedImage
    real_on_b: PostedImage
    face: MadeFace
    photo_id: int


class PairImages(RoundImages):
    """Same calls as RoundImages: fill() ahead, then take(a_is_real) for the round."""

    _pair: _ReadyPair | None = None

    async def fill(self) -> None:
        """Make the next pair. A game of pairs cannot go on without a readable real photo:
        that stops it with a reason for the players (UserError)."""
        if self._pair is not None:
            return
        real = asyncio.create_task(self._real_pixels())
        try:
            psis = self.settings.quiz_psis
            face = await self.source.face(None, psis[secrets.randbelow(len(psis))])
            photo = await real
        finally:
            real.cancel()
        if photo is None:
            raise UserError(texts.PAIRS_NO_PHOTO)
        photo_id, pixels = photo
        size, detail = self.settings.posted_size, self.settings.quiz_detail
        a, b = await asyncio.to_thread(lambda: (pair_image(pixels, face.image, size, detail),
                                                pair_image(face.image, pixels, size, detail)))
        self._pair = _ReadyPair(a, b, face, photo_id)

    def take(self, want_real: bool) -> RoundImage:
        """The pair whose coin said the real face is on side A (want_real) or B."""
        assert self._pair is not None, "fill() comes first"
        pair, self._pair = self._pair, None
        posted = pair.real_on_a if want_real else pair.real_on_b
        return RoundImage(posted, want_real, pair.face, pair.photo_id)

    async def _real_pixels(self) -> tuple[int, Image.Image] | None:
        photo = await self._random_photo()
        if photo is None:
            return None
        return photo.id, await asyncio.to_thread(load_rgb, self._photo_path(photo))
