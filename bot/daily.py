"""The daily challenge: the same rounds for every player that UTC day, played alone, one try.

A day's rounds (which are real, which photos, which generated faces: picked as the quiz picks its
fakes, the face bank's top or else the best 1 of K) are drawn from a secret
random source the first time anyone asks, never from the date, so nobody can work them out. The
day's images are made at that moment and stored with the plan: every player, on every platform
and process, gets the same bytes, and fetching a round (reading stored bytes) does the same work
whether it is real or fake, so no reply's timing tells the next round's truth. The draw itself
makes a photo and a generated face for every round before it flips the coins, so its time says
nothing either. A player answers at their own pace; each answer is told right or wrong at once
(the try is private), and the last one gives the score, a share line that says nothing about
which face was which, and the day's and the all-time daily boards. Images pass the one quiz
pipeline. A plan stored before its images were (drawn by an older version) has them made on
first ask in each process.
"""
from __future__ import annotations

import asyncio
import base64
import random
import secrets
import zlib
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import select

from bot import i18n, texts
from db.database import Database
from bot.errors import UserError
from bot.imaging import PostedImage, load_rgb, quiz_image
from bot.ratelimits import SharedRateLimiter
from bot.refs import PlayerRef
from bot.settings import Settings
from db import daily as dq
from db.models import DailyChallenge, RealPhoto
from db.people import find_player, get_or_create_player
from generator.interface import FaceSource, GeneratedFace, GeneratorBusy, GeneratorError

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
    lang: str = "en"  # the player's language (bot.i18n code)

    @property
    def caption(self) -> str:
        return texts.lang(self.lang).daily_caption(self.daily_number, self.number, self.total)


@dataclass(frozen=True)
class DailyFinish:
    daily_number: int
    correct: int
    total: int
    marks: str
    board_text: str
    lang: str = "en"

    @property
    def share(self) -> str:
        return texts.lang(self.lang).daily_share(self.daily_number, self.correct, self.total, self.marks)

    def text(self) -> str:
        return texts.lang(self.lang).daily_finish(self.correct, self.total, self.share, self.board_text)


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
        self._plans: dict[str, tuple[int, list[dict[str, Any]]]] = {}  # the day's stored plan, once read
        self._draw_lock = asyncio.Lock()  # one draw at a time in this process (others: the database decides)
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
        daily_number, plan = await self._challenge(day)
        async with self.db.transaction() as session:
            player_row = await get_or_create_player(session, player.platform, player.user_id, player.name)
            play = await dq.get_or_start_play(session, day.isoformat(), player_row.id)
            if play.finished_at is not None:
                share = texts.later.daily_share(daily_number, play.correct, len(plan), play.marks)
                raise UserError(texts.later.daily_done(share))  # both said in the reader's language
            number = play.next_number
        return await self._round(day, number, plan, player.lang)

    async def answer(self, player: PlayerRef, day: date, number: int, guess_real: bool,
                     now: datetime | None = None) -> DailyStep:
        """Take an answer to round `number` of `day`'s challenge. UserError for yesterday's
        buttons, a round answered already or a try never started."""
        if day != utc_today(now):
            raise UserError(texts.DAILY_OVER)
        key = day.isoformat()
        stored = await self._stored(day)
        async with self.db.transaction() as session:
            player_row = await find_player(session, player.platform, player.user_id)
            play = await dq.find_play(session, key, player_row.id) if player_row else None
            if play is None or stored is None or not 1 <= number <= len(stored[1]):
                raise UserError(texts.BUTTON_UNKNOWN)
            (daily_number, plan), total = stored, len(stored[1])
            is_real = bool(plan[number - 1]["is_real"])
            right = guess_real == is_real
            if not await dq.record_daily_answer(session, play.id, number, right, last=number == total):
                raise UserError(texts.ANSWER_ALREADY)
            await session.refresh(play)
            correct, marks = play.correct, play.marks
        t = texts.lang(player.lang)
        result = t.daily_result(number, total, is_real, right)
        if number < total:
            return DailyStep(result, await self._round(day, number + 1, plan, player.lang), None)
        return DailyStep(result, None, DailyFinish(daily_number, correct, total, marks,
                                                   await self.board_text(day, lang=player.lang), t.lang))

    async def board_text(self, day: date | None = None, escape: texts.Escape = texts._plain,
                         lang: str | None = None) -> str:
        day = day or utc_today()
        async with self.db.transaction() as session:
            today = await dq.day_board(session, day.isoformat(), BOARD_SIZE)
            ever = await dq.all_time_board(session, BOARD_SIZE)
        return texts.lang(lang).daily_board(day_number(day), [(row.name, row.correct, row.rounds) for row in today],
                                 [(row.name, row.correct, row.rounds) for row in ever], escape)

    # -- the day's rounds --
    async def _challenge(self, day: date) -> tuple[int, list[dict[str, Any]]]:
        """The day's (number, plan), drawn and its images made now if nobody asked before. Two
        processes may both draw: the database keeps the first plan stored, and both use that one."""
        key = day.isoformat()
        found = await self._stored(day)
        if found is not None:
            return found
        async with self._draw_lock:
            found = await self._stored(day)
            if found is not None:  # drawn here while this call waited
                return found
            async with self.db.transaction() as session:
                photos = await _photo_ids(session, self.settings.photo_packs)
            if not photos:
                raise UserError(texts.DAILY_NO_PHOTOS)
            plan = await self._draw(photos)  # outside any transaction: making images takes a while
            async with self.db.transaction() as session:
                challenge = await dq.get_or_add_challenge(session, key, day_number(day), plan)
                self._plans = {key: (challenge.number, challenge.plan)}  # the stored one: maybe another's
            return self._plans[key]

    async def _stored(self, day: date) -> tuple[int, list[dict[str, Any]]] | None:
        """The day's stored (number, plan), or None. A stored plan never changes, so it is read
        from the database once (it carries the day's images) and kept for the day."""
        key = day.isoformat()
        if key not in self._plans:
            async with self.db.transaction() as session:
                found = await session.get(DailyChallenge, key)
            if found is None:
                return None
            self._plans = {key: (found.number, found.plan)}  # only one day's: forget past days
        return self._plans[key]

    async def _draw(self, photo_ids: list[int]) -> list[dict[str, Any]]:
        """A plan from a secret random source, every round's image made and stored in it. A photo
        and a generated face are made for every round before the coins are drawn, so how long the
        first /daily of the day takes says nothing about how many rounds are real."""
        rng = random.SystemRandom()
        psis = [self.settings.quiz_psis[rng.randrange(len(self.settings.quiz_psis))] for _ in range(DAILY_ROUNDS)]
        photos, fakes = await asyncio.gather(self._photos(rng.sample(photo_ids, len(photo_ids))),
                                             asyncio.gather(*(self._fake(psi) for psi in psis)))
        if not photos:  # every photo file has gone missing
            raise UserError(texts.DAILY_NO_PHOTOS)
        plan = []
        for index, (face, posted) in enumerate(fakes):
            if rng.random() < 0.5:
                photo_id, image = photos[index % len(photos)]
                plan.append({"is_real": True, "photo_id": photo_id, "seed": None, "psi": None,
                             "image": _pack(image.data)})
            else:
                plan.append({"is_real": False, "photo_id": None, "seed": face.seed, "psi": face.psi,
                             "image": _pack(posted.data)})
        return plan

    async def _photos(self, ordered_ids: list[int]) -> list[tuple[int, PostedImage]]:
        """Up to DAILY_ROUNDS photos made into quiz images, in the drawn order (a photo whose file
        went missing is passed over)."""
        made: list[tuple[int, PostedImage]] = []
        for photo_id in ordered_ids:
            if len(made) == DAILY_ROUNDS:
                break
            image = await self._photo_image(photo_id)
            if image is not None:
                made.append((photo_id, image))
        return made

    async def _photo_image(self, photo_id: int) -> PostedImage | None:
        async with self.db.transaction() as session:
            photo = await session.get(RealPhoto, photo_id)
        path = self.settings.data_dir / photo.stored_path if photo is not None else None
        if path is None or not path.exists():
            return None
        pixels = await asyncio.to_thread(load_rgb, path)
        return await asyncio.to_thread(quiz_image, pixels, self.settings.posted_size,
                                       self.settings.quiz_detail)

    async def _fake(self, psi: float, seed: int | None = None) -> tuple[GeneratedFace, PostedImage]:
        """A fake round's face and its round image. Without a seed, picked as the quiz picks its
        fakes (the face bank's top, else the best 1 of K), not a plain sample."""
        try:
            face = await self.source.face(seed, psi)
        except GeneratorBusy:
            raise UserError(texts.GENERATOR_BUSY) from None
        except GeneratorError:
            raise UserError(texts.GENERATOR_UNAVAILABLE) from None
        return face, await asyncio.to_thread(quiz_image, face.image, self.settings.posted_size,
                                             self.settings.quiz_detail)

    async def _round(self, day: date, number: int, plan: list[dict[str, Any]], lang: str | None = None) -> DailyRound:
        image = await self._image(day, number, plan[number - 1])
        return DailyRound(day, day_number(day), number, len(plan), image, i18n.normalise(lang))

    async def _image(self, day: date, number: int, entry: dict[str, Any]) -> PostedImage:
        key = (day.isoformat(), number)
        async with self._lock:  # read once a day, then every player gets the same bytes
            if key not in self._images:
                self._images = {k: v for k, v in self._images.items() if k[0] == key[0]}  # forget past days
                self._images[key] = PostedImage(_unpack(entry["image"]), "", "image/jpeg") if "image" in entry \
                    else await self._make(entry)
        cached = self._images[key]
        return PostedImage(cached.data, f"{secrets.token_hex(8)}.jpg", cached.mime)  # a fresh random name

    async def _make(self, entry: dict[str, Any]) -> PostedImage:
        """A round of a plan stored before its images were (drawn before an upgrade): made now."""
        if entry["is_real"]:
            image = await self._photo_image(int(entry["photo_id"]))
            if image is None:
                raise UserError(texts.ERROR)  # the photo was removed since: the round cannot be shown truthfully
            return image
        _, image = await self._fake(float(entry["psi"]), int(entry["seed"]))
        return image


def _pack(data: bytes) -> str:
    """A quiz image for the stored plan (JSON): compressed (its padding is most of it), base64."""
    return base64.b64encode(zlib.compress(data, 9)).decode("ascii")


def _unpack(text: str) -> bytes:
    return zlib.decompress(base64.b64decode(text))


async def _photo_ids(session, packs: list[str]) -> list[int]:  # type: ignore[no-untyped-def]
    query = select(RealPhoto.id).where(RealPhoto.split == "heldout").order_by(RealPhoto.id)
    if packs:
        query = query.where(RealPhoto.pack.in_(packs))
    return list((await session.execute(query)).scalars())
