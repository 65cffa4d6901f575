"""/hall: the hall of fakes, this week or all time, as text and one picture of its faces.

The ranking comes from counts that only reveals move (db.hall), so an open round's answers never
put a face in the hall. The hall is the state as of the last reveal, whatever rounds are open: a
face a hard game shows again stays listed with its revealed counts, so /hall's reply is the same
whether a hard game's open round is real or fake. The picture is made again
from each face's seed and truncation (a seeded face is exactly reproducible), for the faces of
the model now serving; older models' faces are listed only.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from bot import texts
from db.database import Database
from bot.errors import UserError
from bot.imaging import PostedImage, faces_sheet_png
from bot.ratelimits import SharedRateLimiter
from bot.refs import PlayerRef
from bot.settings import Settings
from db.hall import HallRow, hall_of_fakes
from db.models import utcnow
from db.scopes import ALL_TIME, week_period
from generator.interface import FaceSource, GeneratorError

log = logging.getLogger(__name__)
SHEET_COLUMNS = 4


@dataclass(frozen=True)
class HallPost:
    text: str
    image: PostedImage | None  # None when no listed face can be pictured


def parse_hall_args(args: list[str]) -> str:
    """'week' (the default) or 'all' from what follows /hall."""
    if len(args) > 1:
        raise UserError(texts.HALL_USAGE)
    word = args[0].lower() if args else "week"
    if word in ("week", "weekly", "this-week"):
        return "week"
    if word in ("all", "alltime", "all-time", "ever"):
        return "all"
    raise UserError(texts.HALL_USAGE)


class HallService:
    def __init__(self, db: Database, source: FaceSource, settings: Settings) -> None:
        self.db = db
        self.source = source
        self.settings = settings
        self._limiter = SharedRateLimiter(db, "hall", settings.reads_per_minute)

    async def rows(self, period: str) -> list[HallRow]:
        key = week_period(utcnow()) if period == "week" else ALL_TIME
        async with self.db.transaction() as session:
            return await hall_of_fakes(session, period=key, min_answers=self.settings.hall_min_answers,
                                       limit=self.settings.hall_size)

    async def current_faces(self) -> list[HallRow]:
        """The all-time hall's faces of the model now serving: what a hard game may show again."""
        return [row for row in await self.rows("all") if row.model_version == self.source.model_version]

    async def hall(self, player: PlayerRef | None, args: list[str] | None = None, lang: str | None = None) -> HallPost:
        """The hall for a player's /hall (rate limited like boards), in lang (default: the
        player's); UserError on bad input."""
        t = texts.lang(lang or (player.lang if player else None))
        period = parse_hall_args(list(args or []))
        if player is not None:
            await self._limiter.check((player.platform, player.user_id))
        rows = await self.rows(period)
        minimum = self.settings.hall_min_answers
        if not rows:
            return HallPost(t.hall_empty(period, minimum), None)
        lines = [t.hall_title(period, minimum)]
        lines += [t.hall_line(r.rank, r.fooled, r.answers, r.seed, r.truncation, r.model_version) for r in rows]
        image = await self._sheet([r for r in rows if r.model_version == self.source.model_version])
        if image is not None:
            lines.append(t.HALL_PICTURED)
        return HallPost("\n".join(lines), image)

    async def _sheet(self, rows: list[HallRow]) -> PostedImage | None:
        if not rows:
            return None
        try:
            faces = await asyncio.gather(*(self.source.face(row.seed, row.truncation) for row in rows))
        except GeneratorError as error:  # the list is still worth showing without the picture
            log.warning("could not picture the hall of fakes: %s", error)
            return None
        tile = max(64, self.settings.posted_size // 2)
        return faces_sheet_png([face.image for face in faces], tile, SHEET_COLUMNS, texts.HALL_CAPTION)
