"""The quiz's detail level (FIGMENT_QUIZ_DETAIL), settled once at start.

Every quiz face, real or generated, is brought to one detail level before it is posted
(bot.imaging.to_quiz_pixels). Raising it shows more of a large generator's detail (an imported
256 or 1024 px StyleGAN2), but only as far as both sides have it: a real photo stored at 128 px or
a 128 px generator brought up to 256 would look softer than the other side and give the answer
away. So the level is clamped, with a warning, to the smallest of the setting, the generator's
resolution (when this process holds the model) and the stored side of the quiz's photo packs, but
never below the built-in 128 px (bot.imaging.QUIZ_DETAIL).
Clamping, not refusing to start: a bot whose weights or packs changed keeps running, fairly.
"""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from PIL import Image
from sqlalchemy import func, select

from db.database import Database
from bot.imaging import QUIZ_DETAIL
from bot.settings import Settings
from db.models import RealPhoto

log = logging.getLogger(__name__)


def generator_resolution(source: object) -> int | None:
    """The side of the faces the source makes, when it can tell (an in-process model); else None."""
    for holder in (source, getattr(source, "source", None)):  # a curated source wraps the generator
        model = getattr(holder, "model", None)
        side = getattr(model, "resolution", None)
        if isinstance(side, int):
            return side
    return None


async def stored_photo_sides(db: Database, settings: Settings) -> dict[str, int]:
    """The stored side of each quiz pack, read from its first held-out photo (a pack is imported at
    one --size). Packs whose sample file is missing or unreadable are left out."""
    query = select(RealPhoto.pack, func.min(RealPhoto.id)).where(RealPhoto.split == "heldout").group_by(RealPhoto.pack)
    if settings.photo_packs:
        query = query.where(RealPhoto.pack.in_(settings.photo_packs))
    async with db.transaction() as session:
        firsts = (await session.execute(query)).all()
        paths = {pack: settings.data_dir / (await session.get(RealPhoto, photo_id)).stored_path
                 for pack, photo_id in firsts}
    sides = await asyncio.to_thread(lambda: {pack: _side(path) for pack, path in paths.items()})
    return {pack: side for pack, side in sides.items() if side is not None}


def _side(path: Path) -> int | None:
    try:
        with Image.open(path) as image:  # reads the header only
            return min(image.size)
    except (OSError, ValueError):
        return None


def settle(wanted: int, generator_side: int | None, photo_sides: dict[str, int],
           posted_size: int = 2048) -> tuple[int, list[str]]:
    """The detail level to use and, when it is below `wanted`, why (one reason per limit).
    Never below the built-in level (QUIZ_DETAIL, or `wanted` when lower): that is how every quiz
    image was made before the setting, and photo imports store at least that."""
    floor = min(wanted, QUIZ_DETAIL)
    detail, reasons = wanted, []
    if posted_size < wanted:
        detail = posted_size
        reasons.append(f"images are posted at {posted_size} px (FIGMENT_POSTED_SIZE)")
    if generator_side is not None and generator_side < wanted:
        detail = min(detail, generator_side)
        reasons.append(f"the generator makes {generator_side} px faces")
    for pack, side in sorted(photo_sides.items()):
        if side < wanted:
            reasons.append(f"photo pack {pack!r} is stored at {side} px (re-import it with --size {wanted})")
            detail = min(detail, side)
    return max(detail, floor), reasons


async def settle_quiz_detail(settings: Settings, db: Database, source: object) -> Settings:
    """Settings whose quiz_detail every quiz image can honour (a copy when clamped), warning why."""
    detail, reasons = settle(settings.quiz_detail, generator_resolution(source), await stored_photo_sides(db, settings),
                             settings.posted_size)
    if detail == settings.quiz_detail:
        return settings
    log.warning("FIGMENT_QUIZ_DETAIL=%d cannot be honoured for every quiz image: %s; quiz images use %d px",
                settings.quiz_detail, "; ".join(reasons), detail)
    return settings.model_copy(update={"quiz_detail": detail})
