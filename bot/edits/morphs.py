"""The /morph use case: two seeds, one animation of the first face turning into the second.

Made off the event loop (a worker thread renders, watermarks and encodes), one morph at a time in
this process (they are CPU-heavy), one at a time per user (a second one gets a clear reply while
the first is made, in any bot process on the same database), rate limited per user, and kept in a
small cache by its seeds, truncation and model version: the same morph asked again costs nothing.
"""
from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Hashable, Iterator

from PIL import Image

from bot import texts
from bot.edits import animation
from bot.errors import UserError
from bot.imaging import PostedImage, to_posted_size
from bot.parsing import parse_psi
from bot.provenance import watermark
from bot.ratelimits import RateLimiter, SharedBusy, SharedRateLimiter
from bot.refs import PlayerRef
from db.database import Database
from generator.editing.latents import Latents, check_render_cost, latent_model
from generator.editing.morph import morph_frames
from generator.interface import GeneratorBusy, GeneratorError, InvalidRequest, TooCostly, check_seed


@dataclass(frozen=True)
class MorphPost:
    mp4: PostedImage   # H.264, for Telegram's sendAnimation
    gif: PostedImage   # for Discord and the playground
    caption: str
    seed_a: int
    seed_b: int
    psi: float
    model_version: str
    frames: int
    size: int          # side in pixels
    fps: int
    seconds: float     # wall time making it took (render, watermark, encode)

    def caption_in(self, t: texts.Texts) -> str:
        """The caption said in the asker's language (`caption` is English: the files' metadata, and
        the cache serves one post to askers of every language)."""
        return t.morph_caption(self.seed_a, self.seed_b, self.psi, self.model_version)


def parse_morph_seeds(first: str | int | None, second: str | int | None) -> tuple[int, int]:
    if first is None or second is None or not str(first).strip() or not str(second).strip():
        raise UserError(texts.MORPH_USAGE)
    try:
        seeds = check_seed(int(str(first).strip())), check_seed(int(str(second).strip()))
    except ValueError:
        raise UserError(texts.MORPH_BAD_SEED) from None
    if seeds[0] == seeds[1]:
        raise UserError(texts.MORPH_SAME)
    return seeds


def source_latents(source: object) -> Latents | None:
    """The W side of a face source: the model's own when the source holds it in this process (the
    generator service, DirectSource: Figment's own or an imported StyleGAN2), the server's for a
    shared generator over HTTP; None for a model without W (a test double)."""
    model = getattr(source, "model", None)
    if model is not None:
        return latent_model(model)
    remote = getattr(source, "remote_latents", None)
    return remote() if callable(remote) else None


def usable(latents: Latents | None) -> Latents:
    """The latents, or the UserError that says why edits and morphs cannot be made now."""
    if latents is None:
        raise UserError(texts.EDITS_UNAVAILABLE)
    if latents.model_version == "unknown":  # a shared generator not reached yet
        raise UserError(texts.GENERATOR_UNAVAILABLE)
    return latents


def affordable(latents: Latents, faces: int) -> None:
    """Refuse (UserError) an edit or morph whose `faces` renders would hold the CPU too long (a
    large imported model on a CPU); anything else passes. A shared server checks its own."""
    with generator_errors():
        check_render_cost(latents, faces)


@contextmanager
def generator_errors() -> Iterator[None]:
    """A shared generator's refusals, said in chat: busy, down, or without a W space."""
    try:
        yield
    except TooCostly as error:  # before InvalidRequest, which it is
        raise UserError(texts.later.too_slow_here(error.seconds)) from None
    except GeneratorBusy:
        raise UserError(texts.GENERATOR_BUSY) from None
    except InvalidRequest:  # the request was checked here: the server cannot make edits at all
        raise UserError(texts.EDITS_UNAVAILABLE) from None
    except GeneratorError:
        raise UserError(texts.GENERATOR_UNAVAILABLE) from None


class MorphService:
    def __init__(self, source: object, *, size: int = 256, frames: int = 36, fps: int = 12,
                 per_minute: int = 2, db: Database | None = None, cache_size: int = 16) -> None:
        self.source = source
        self.size, self.frames, self.fps = size, frames, fps
        self.limiter: RateLimiter | SharedRateLimiter = \
            SharedRateLimiter(db, "morph", per_minute) if db is not None else RateLimiter(per_minute)
        self._cache: OrderedDict[tuple, MorphPost] = OrderedDict()
        self.cache_size = cache_size
        self._making: set[Hashable] = set()
        self._shared_making = SharedBusy(db, "morph-making") if db is not None else None  # other processes'
        self._cpu = asyncio.Semaphore(1)  # one morph renders at a time in this process
        self._latents: tuple[object, Latents | None] | None = None

    def latents(self) -> Latents:
        model = getattr(self.source, "model", None)
        if self._latents is None or self._latents[0] is not model:  # the service may reload its model
            self._latents = (model, source_latents(self.source))
        return usable(self._latents[1])

    def busy(self, player: PlayerRef) -> bool:
        return (player.platform, player.user_id) in self._making

    async def morph(self, player: PlayerRef, first: str | int | None, second: str | int | None,
                    psi: str | float | None = None) -> MorphPost:
        """UserError with a message for the chat on bad input, a morph already on the way for this
        user, the rate limit, or a generator that cannot make morphs."""
        seed_a, seed_b = parse_morph_seeds(first, second)
        psi_value = parse_psi(psi)
        key = (player.platform, player.user_id)
        if key in self._making:
            raise UserError(texts.MORPH_RUNNING)
        model = self.latents()
        affordable(model, self.frames)  # each frame is a face rendered
        self._making.add(key)  # before the first await: a second request sees it at once
        taken = False
        try:
            if self._shared_making is not None:
                taken = await self._shared_making.take(key)
                if not taken:
                    raise UserError(texts.MORPH_RUNNING)
            await self.limiter.admit(key)
            return await self.make(model, seed_a, seed_b, psi_value)
        finally:
            self._making.discard(key)
            if taken and self._shared_making is not None:
                await self._shared_making.release(key)

    async def morph_words(self, player: PlayerRef, words: list[str]) -> MorphPost:
        """`/morph A B [psi]` as typed (Telegram and the playground)."""
        if len(words) not in (2, 3):
            raise UserError(texts.MORPH_USAGE)
        return await self.morph(player, *words)

    async def make(self, model: Latents, seed_a: int, seed_b: int, psi: float) -> MorphPost:
        cache_key = (seed_a, seed_b, psi, model.model_version, self.frames, self.size)
        if (hit := self._cache.get(cache_key)) is not None:
            self._cache.move_to_end(cache_key)
            return hit
        async with self._cpu:
            with generator_errors():
                post = await asyncio.to_thread(self._make, model, seed_a, seed_b, psi)
        self._cache[cache_key] = post
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return post

    def _make(self, model: Latents, seed_a: int, seed_b: int, psi: float) -> MorphPost:
        started = time.perf_counter()
        caption = texts.morph_caption(seed_a, seed_b, psi, model.model_version)
        frames = marked_frames(morph_frames(model, seed_a, seed_b, psi, self.frames), self.size, model.model_version)
        stem = f"morph-{seed_a}-{seed_b}"
        mp4 = PostedImage(animation.mp4(frames, self.fps, caption), f"{stem}.mp4", animation.MP4_MIME)
        gif = PostedImage(animation.gif(frames, self.fps, caption), f"{stem}.gif", animation.GIF_MIME)
        return MorphPost(mp4, gif, caption, seed_a, seed_b, psi, model.model_version, len(frames),
                         self.size, self.fps, time.perf_counter() - started)


def marked_frames(frames: list[Image.Image], size: int, model_version: str) -> list[Image.Image]:
    """Each frame brought to the posted size as /face is (one resampler), then watermarked."""
    return [watermark.embed(to_posted_size(frame, size), model_version) for frame in frames]
