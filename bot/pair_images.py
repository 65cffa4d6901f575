"""The next pair round's image, made ahead, with the real side chosen late.

A pair needs one real photo and one generated face. Both arrangements (real on A, real on B)
are composed while the round before runs, so taking either costs nothing and a post's timing
says nothing about which side is real. The faces pass through the one quiz pipeline
(bot.pair_imaging, bot.imaging).
"""
from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass

from PIL import Image

from bot import texts
from bot.errors import UserError
from bot.imaging import PostedImage
from bot.pair_imaging import pair_image
from bot.round_images import RoundImage, RoundImages, _load_rgb
from generator.interface import GeneratedFace as MadeFace


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
        return photo.id, await asyncio.to_thread(_load_rgb, self._photo_path(photo))
