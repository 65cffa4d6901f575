"""The /face use case: check the request, get a face from the shared generator, make the post."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass

from PIL import Image

from bot import texts
from bot.errors import UserError
from bot.imaging import PostedImage
from bot.provenance.credentials import FaceFacts
from bot.provenance.marking import FaceMarks
from bot.parsing import parse_psi, parse_seed
from db.database import Database
from bot.ratelimits import RateLimiter, SharedRateLimiter
from bot.refs import PlayerRef
from generator.curation.source import CuratedSource
from generator.interface import FaceSource, GeneratorBusy, GeneratorError, GeneratorUnavailable, InvalidRequest


@dataclass(frozen=True)
class FacePost:
    image: PostedImage
    caption: str
    seed: int
    psi: float
    model_version: str


class FaceService:
    def __init__(self, source: FaceSource, *, size: int, per_minute: int, marks: FaceMarks | None = None,
                 db: Database | None = None) -> None:
        """With a database, the rate limit holds across every bot process on it."""
        self.source = source
        self.marks = marks or FaceMarks()  # every /face is watermarked; signed when credentials are set
        self.size = size
        self.limiter: RateLimiter | SharedRateLimiter = \
            SharedRateLimiter(db, "face", per_minute) if db is not None else RateLimiter(per_minute)

    async def face(self, player: PlayerRef, seed: str | int | None = None,
                   psi: str | float | None = None) -> FacePost:
        """Raises UserError with a message for the chat on bad input, rate limit or generator trouble."""
        seed_value = parse_seed(seed)
        psi_value = parse_psi(psi)
        await self.admit(player)
        return await self.make(seed_value, psi_value)

    async def admit(self, player: PlayerRef) -> None:
        """Count one face for player, at once (no generating): UserError when over the rate limit.
        For buttons that must be answered before the face is made."""
        await self.limiter.admit((player.platform, player.user_id))

    async def make(self, seed: int | None = None, psi: float | None = None) -> FacePost:
        """A face for a request already admitted; UserError on generator trouble."""
        seed_value, psi_value = parse_seed(seed), parse_psi(psi)
        try:
            face = await self.source.face(seed_value, psi_value)
        except GeneratorBusy:
            raise UserError(texts.GENERATOR_BUSY) from None
        except InvalidRequest as error:
            raise UserError(str(error)) from None
        except GeneratorError:
            raise UserError(texts.GENERATOR_UNAVAILABLE) from None
        caption = texts.face_caption(face.seed, face.psi, face.model_version)
        image = await self.mark(face.image, caption, FaceFacts(face.model_version, face.seed, face.psi))
        return FacePost(image, caption, face.seed, face.psi, face.model_version)

    async def mark(self, image: Image.Image, caption: str, facts: FaceFacts) -> PostedImage:
        """A generated face as a /face file: watermarked, signed when credentials are set."""
        return await asyncio.to_thread(self.marks.posted, image, self.size, caption, facts)


async def face_pool(curated: CuratedSource, source: FaceSource) -> dict[float, int] | None:
    """Faces ready to post, per truncation, in the pool the quiz draws from (for /readyz): the
    curated pools when curating, else the generator's own, in this process or a shared generator's
    /health. None: the source keeps no pool (it makes each face when asked).
    GeneratorError when the generator cannot take requests."""
    if curated.curating:
        return curated.pool_levels()
    levels = getattr(source, "pool_levels", None)
    if callable(levels):  # the in-process generator service
        if not getattr(source, "healthy", True):
            raise GeneratorUnavailable("the generator service is not running")
        return dict(levels())
    health = getattr(source, "health", None)
    if callable(health):  # a shared `figment generator serve`
        body = await health()
        pool = body.get("pool") or {}
        return {float(psi): int(level) for psi, level in pool.items()} if isinstance(pool, dict) else None
    return None
