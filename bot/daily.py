"""The daily challenge: the same rounds for every player that UTC day, played alone, one try.

A day's rounds (which are real, which photos, which generated seeds) are drawn from a seed of
the date the first time anyone asks, and stored, so everyone everywhere gets the same images.
A player answers at their own pace; each answer is told right or wrong at once (the try is
private), and the last one gives the score, a share line that says nothing about which face
was which, and the day's and the all-time daily boards. Images pass the one quiz pipeline.
"""
from __future__ import annotations

import asyncio
import random
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from PIL import Image
from sqlalchemy import select

from bot import texts
from bot.database import Database
from bot.errors import UserError
from bot.imaging import PostedImage, quiz_image
from bot.ratelimit import SharedRateLimiter
from bot.refs import PlayerRef
from bot.settings import Settings
from db import daily as dq
from db.models import DailyChallenge, RealPhoto
from db.people import find_player, get_or_create_player
from generator.interface import MAX_SEED, FaceSource

DAILY_ROUNDS = 5
FIRST_DAY = date(2026, 1, 1)  # Figment daily #1
BOARD_SIZE = 10


def utc_today(now: datetime | None = None) -> date:
    return (now or datetime.now(timezone.utc)).astimezone(timezone.utc).date()


def day_number(day: date) -> int:
    return (day - FIRST_DAY).days + 1


@dataclass(frozen=True)
class DailyRound:
    day: date
    daily_number: int
    number: int
    total: int
    image: PostedImage

    @property
    def caption(self) -> str:
        return texts.daily_caption(self.daily_number, self.number, self.total)


@dataclass(frozen=True)
class DailyFinish:
    daily_number: int
    correct: int
    total: int
    marks: str
    board_text: str

    @property
    def share(self) -> str:
        return texts.daily_share(self.daily_number, self.correct, self.total, self.marks)

    def text(self) -> str:
        return f"Done! {self.correct}/{self.total} right. Share it:\n{self.share}\n\n{self.board_text}"


@dataclass(frozen=True)
class DailyStep:
    """What follows an answer: how it went, then the next round or the finish."""

    result: str
    next_round: DailyRound | None
    finish: DailyFinish | None


class DailyService:
    def __init__(self, db: Database, source: FaceSource, settings: Settings) -> None:
        self.db = db
        self.source = source
        self.settings = settings
        self._images: dict[tuple[str, int], PostedImage] = {}  # today's, shared by all players
        self._lock = asyncio.Lock()
        # Each /daily posts a picture (the current round again, or the result): one eager user must
        # not flood their chat, so starts are limited like the other reads.
        self._limiter = SharedRateLimiter(db, "daily", settings.reads_per_minute)

    async def start(self, player: PlayerRef, args: list[str] | None = None,
                    now: datetime | None = None) -> DailyRound:
        """Today's next round for the player (a try already begun goes on where it stopped).
        UserError when played already today, with the share line."""
        if args:
            raise UserError(texts.DAILY_USAGE)
        await self._limiter.check((player.platform, player.user_id))
        day = utc_today(now)
        async with self.db.transaction() as session:
            challenge = await self._challenge(session, day)
            player_row = await get_or_create_player(session, player.platform, player.user_id, player.name)
            play = await dq.get_or_start_play(session, day.isoformat(), player_row.id)
            if play.finished_at is not None:
                share = texts.daily_share(challenge.number, play.correct, len(challenge.plan), play.marks)
                raise UserError(texts.daily_done(share))
            number, plan = play.next_number, challenge.plan
        return await self._round(day, number, plan)

    async def answer(self, player: PlayerRef, day: date, number: int, guess_real: bool,
                     now: datetime | None = None) -> DailyStep:
        """Take an answer to round `number` of `day`'s challenge. UserError for yesterday's
        buttons, a round answered already or a try never started."""
        if day != utc_today(now):
            raise UserError(texts.DAILY_OVER)
        key = day.isoformat()
        async with self.db.transaction() as session:
            player_row = await find_player(session, player.platform, player.user_id)
            play = await dq.find_play(session, key, player_row.id) if player_row else None
            challenge = await session.get(DailyChallenge, key)
            if play is None or challenge is None or not 1 <= number <= len(challenge.plan):
                raise UserError(texts.BUTTON_UNKNOWN)
            plan, total = challenge.plan, len(challenge.plan)
            is_real = bool(plan[number - 1]["is_real"])
            right = guess_real == is_real
            if not await dq.record_daily_answer(session, play.id, number, right, last=number == total):
                raise UserError(texts.ANSWER_ALREADY)
            await session.refresh(play)
            correct, marks, daily_number = play.correct, play.marks, challenge.number
        result = texts.daily_result(number, total, is_real, right)
        if number < total:
            return DailyStep(result, await self._round(day, number + 1, plan), None)
        return DailyStep(result, None, DailyFinish(daily_number, correct, total, marks, await self.board_text(day)))

    async def board_text(self, day: date | None = None, escape: texts.Escape = texts._plain) -> str:
        day = day or utc_today()
        async with self.db.transaction() as session:
            today = await dq.day_board(session, day.isoformat(), BOARD_SIZE)
            ever = await dq.all_time_board(session, BOARD_SIZE)
        lines = [f"Daily #{day_number(day)} board:"]
        lines += [f"{n}. {escape(row.name)}: {row.correct}/{row.rounds}" for n, row in enumerate(today, 1)] or \
            ["nobody has finished today's yet."]
        lines.append("All-time daily board:")
        lines += [f"{n}. {escape(row.name)}: {row.correct} right in {row.rounds} "
                  f"{'day' if row.rounds == 1 else 'days'}" for n, row in enumerate(ever, 1)] or ["nobody yet."]
        return "\n".join(lines)

    # -- the day's rounds --
    async def _challenge(self, session, day: date) -> DailyChallenge:  # type: ignore[no-untyped-def]
        existing = await session.get(DailyChallenge, day.isoformat())
        if existing is not None:
            return existing
        photos = await _photo_ids(session, self.settings.photo_packs)
        if not photos:
            raise UserError(texts.DAILY_NO_PHOTOS)
        return await dq.get_or_add_challenge(session, day.isoformat(), day_number(day),
                                             draw_plan(day, photos, self.settings.quiz_psis))

    async def _round(self, day: date, number: int, plan: list[dict[str, Any]]) -> DailyRound:
        image = await self._image(day, number, plan[number - 1])
        return DailyRound(day, day_number(day), number, len(plan), image)

    async def _image(self, day: date, number: int, entry: dict[str, Any]) -> PostedImage:
        key = (day.isoformat(), number)
        async with self._lock:  # made once a day, then every player gets the same bytes
            if key not in self._images:
                self._images = {k: v for k, v in self._images.items() if k[0] == key[0]}  # forget past days
                self._images[key] = await self._make(entry)
        cached = self._images[key]
        return PostedImage(cached.data, f"{secrets.token_hex(8)}.jpg", cached.mime)  # a fresh random name

    async def _make(self, entry: dict[str, Any]) -> PostedImage:
        size = self.settings.posted_size
        if entry["is_real"]:
            async with self.db.transaction() as session:
                photo = await session.get(RealPhoto, entry["photo_id"])
            if photo is not None:
                path: Path = self.settings.data_dir / photo.stored_path
                if path.exists():
                    pixels = await asyncio.to_thread(_load_rgb, path)
                    return await asyncio.to_thread(quiz_image, pixels, size)
            raise UserError(texts.ERROR)  # the photo was removed since: the round cannot be shown truthfully
        face = await self.source.face(int(entry["seed"]), float(entry["psi"]))
        return await asyncio.to_thread(quiz_image, face.image, size)


def draw_plan(day: date, photo_ids: list[int], psis: tuple[float, ...]) -> list[dict[str, Any]]:
    """The day's rounds from a seed of the date: which are real, which photos, which seeds."""
    rng = random.Random(f"figment-daily:{day.isoformat()}")
    chosen = rng.sample(photo_ids, min(DAILY_ROUNDS, len(photo_ids)))
    plan = []
    for index in range(DAILY_ROUNDS):
        if rng.random() < 0.5:
            plan.append({"is_real": True, "photo_id": chosen[index % len(chosen)], "seed": None, "psi": None})
        else:
            plan.append({"is_real": False, "photo_id": None, "seed": rng.randrange(MAX_SEED + 1),
                         "psi": psis[rng.randrange(len(psis))]})
    return plan


async def _photo_ids(session, packs: list[str]) -> list[int]:  # type: ignore[no-untyped-def]
    query = select(RealPhoto.id).where(RealPhoto.split == "heldout").order_by(RealPhoto.id)
    if packs:
        query = query.where(RealPhoto.pack.in_(packs))
    return list((await session.execute(query)).scalars())


def _load_rgb(path: Path) -> Image.Image:
    with Image.open(path) as image:
        return image.convert("RGB")
