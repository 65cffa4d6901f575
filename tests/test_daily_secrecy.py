"""The daily challenge gives nothing away early: its plan comes from a secret random source (an
attacker who knows the code, the date and the photos does no better than a coin), and its images
are made when the plan is drawn, so fetching a real round and a fake one does the same work."""
from __future__ import annotations

import asyncio
import math
import random
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
from sqlalchemy import func, select

import bot.daily as daily
from bot.app import Figment
from db.database import Database
from bot.daily import DAILY_ROUNDS, utc_today
from bot.refs import PlayerRef
from db import daily as dq
from db.models import DailyChallenge, RealPhoto
from generator.serving.direct import DirectSource
from generator.interface import DEFAULT_PSI, MAX_SEED, GeneratedFace
from tests.conftest import add_real_photos, make_settings
from tests.fakes import DrawnFaceModel
from tests.pg_fresh import fresh_database, reachable

ANN, BOB = PlayerRef("test", "ann", "Ann"), PlayerRef("telegram", "bob", "Bob")
DAYS = 60


def seeded_plan(day: date, photo_ids: list[int], psis: tuple[float, ...]) -> list[bool]:
    """What an attacker computes from the public code as it was, the date and the photo count:
    the day's truths, drawn from a seed of the date."""
    rng = random.Random(f"figment-daily:{day.isoformat()}")
    rng.sample(photo_ids, min(DAILY_ROUNDS, len(photo_ids)))
    truths = []
    for _ in range(DAILY_ROUNDS):
        if rng.random() < 0.5:
            truths.append(True)
        else:
            truths.append(False)
            rng.randrange(MAX_SEED + 1)
            rng.randrange(len(psis))
    return truths


class CountingSource(DirectSource):
    """The real drawn-model source, counting the faces asked of it; `gate`, when set, holds every
    face until it is opened (to line two processes' draws up)."""

    def __init__(self) -> None:
        super().__init__(DrawnFaceModel())
        self.faces = 0
        self.gate: asyncio.Event | None = None

    async def face(self, seed: int | None = None, psi: float = DEFAULT_PSI) -> GeneratedFace:
        self.faces += 1
        if self.gate is not None:
            await self.gate.wait()
        return await super().face(seed, psi)


@pytest.fixture
async def small(tmp_path: Path) -> AsyncIterator[Figment]:
    """A core posting small images (the draws below make many)."""
    figment = await Figment.open(make_settings(tmp_path, posted_size=64), CountingSource())
    await add_real_photos(figment, count=6)
    yield figment
    await figment.close()


async def stored_plan(figment: Figment, day: date) -> list[dict[str, Any]]:
    async with figment.db.transaction() as session:
        challenge = await session.get(DailyChallenge, day.isoformat())
        assert challenge is not None
        return challenge.plan


def without_images(plan: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in entry.items() if k != "image"} for entry in plan]


async def test_the_old_seeded_drawing_predicts_the_plans_no_better_than_chance(small: Figment) -> None:
    async with small.db.transaction() as session:
        photo_ids = list((await session.execute(select(RealPhoto.id).order_by(RealPhoto.id))).scalars())
    today = utc_today()
    right = 0
    for back in range(DAYS):
        day = today - timedelta(days=back)
        await small.daily.start(ANN, now=datetime.combine(day, time(12), timezone.utc))
        truths = [bool(entry["is_real"]) for entry in await stored_plan(small, day)]
        guesses = seeded_plan(day, photo_ids, small.settings.quiz_psis)
        right += sum(guess == truth for guess, truth in zip(guesses, truths))
    rounds = DAYS * DAILY_ROUNDS
    bound = 4 * math.sqrt(rounds * 0.25)  # four standard deviations of a fair coin's count
    assert abs(right - rounds / 2) <= bound, f"the seeded drawing predicted {right} of {rounds} rounds"


async def test_two_fresh_databases_draw_the_same_day_independently(tmp_path: Path) -> None:
    plans = []
    for name in ("one", "two"):
        figment = await Figment.open(make_settings(tmp_path / name, posted_size=64), CountingSource())
        try:
            await add_real_photos(figment, count=6)  # the same photos, the same ids
            await figment.daily.start(ANN)
            plans.append(without_images(await stored_plan(figment, utc_today())))
        finally:
            await figment.close()
    assert plans[0] != plans[1]


async def test_a_days_images_are_made_when_the_plan_is_drawn(small: Figment, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The first /daily of the day makes a photo and a face for every round, whatever the truths;
    after that no round, real or fake, loads a photo or asks the generator: its image is stored."""
    loads = []
    load = daily.load_rgb
    monkeypatch.setattr(daily, "load_rgb", lambda path: loads.append(path) or load(path))
    source = small.source
    assert isinstance(source, CountingSource)
    first = await small.daily.start(ANN)
    truths = [bool(entry["is_real"]) for entry in await stored_plan(small, utc_today())]
    assert (source.faces, len(loads)) == (DAILY_ROUNDS, DAILY_ROUNDS), truths  # not one per real or fake round
    images, round_ = [first.image.data], first
    while True:
        step = await small.daily.answer(ANN, round_.day, round_.number, True)
        if step.next_round is None:
            break
        round_ = step.next_round
        images.append(round_.image.data)
    assert (source.faces, len(loads)) == (DAILY_ROUNDS, DAILY_ROUNDS)  # no answer's reply made an image
    assert len(images) == DAILY_ROUNDS

    # Another process on the same database serves the stored bytes, making nothing itself.
    other = await Figment.open(small.settings, CountingSource())
    try:
        theirs, round_ = [], await other.daily.start(BOB)
        while round_ is not None:
            theirs.append(round_.image.data)
            round_ = (await other.daily.answer(BOB, round_.day, round_.number, False)).next_round
        assert theirs == images and other.source.faces == 0  # type: ignore[attr-defined]
    finally:
        await other.close()


async def race(url_a: str, url_b: str, tmp_path: Path) -> None:
    """Two processes (two engines, two sources) ask for a new day at once, both past the point of
    finding no plan: both draw, one plan is stored, and both serve its bytes."""
    apps = []
    for name, url in (("a", url_a), ("b", url_b)):
        settings = make_settings(tmp_path / "data", posted_size=64, **({"database_url": url} if url else {}))
        apps.append(await Figment.open(settings, CountingSource()))
    try:
        await add_real_photos(apps[0], count=6)
        gate = asyncio.Event()
        for app in apps:
            app.source.gate = gate  # type: ignore[attr-defined]

        async def open_gate_once_both_draw() -> None:
            while not all(app.source.faces for app in apps):  # type: ignore[attr-defined]
                await asyncio.sleep(0.01)
            gate.set()

        opener = asyncio.create_task(open_gate_once_both_draw())
        rounds = await asyncio.wait_for(asyncio.gather(apps[0].daily.start(ANN), apps[1].daily.start(BOB)), 60)
        await opener
        assert all(app.source.faces == DAILY_ROUNDS for app in apps)  # type: ignore[attr-defined]
        async with apps[0].db.transaction() as session:
            assert await session.scalar(select(func.count()).select_from(DailyChallenge)) == 1
        seen: list[list[bytes]] = [[], []]
        for index, (app, who, round_) in enumerate(zip(apps, (ANN, BOB), rounds)):
            while round_ is not None:
                seen[index].append(round_.image.data)
                round_ = (await app.daily.answer(who, round_.day, round_.number, True)).next_round
        assert seen[0] == seen[1] and len(seen[0]) == DAILY_ROUNDS
        assert without_images(await stored_plan(apps[0], utc_today())) == \
            without_images(await stored_plan(apps[1], utc_today()))
    finally:
        for app in apps:
            await app.close()


async def test_two_processes_drawing_at_once_keep_one_plan_on_sqlite(tmp_path: Path) -> None:
    await race("", "", tmp_path)


async def test_two_processes_drawing_at_once_keep_one_plan_on_postgres(tmp_path: Path) -> None:
    if not await reachable():
        pytest.skip("no PostgreSQL server")
    async with fresh_database("daily") as url:
        await race(url, url, tmp_path)


async def test_a_plan_stored_by_another_process_meanwhile_wins_on_postgres() -> None:
    """The store's own race: two transactions insert the day's plan at once; the second waits on
    the first, then takes its plan (PostgreSQL; SQLite has one writer at a time)."""
    if not await reachable():
        pytest.skip("no PostgreSQL server")
    async with fresh_database("daily_race") as url:
        db = Database(url)
        await db.ensure_schema()
        try:
            day = utc_today().isoformat()
            mine, theirs = [{"is_real": True, "n": 1}], [{"is_real": False, "n": 2}]
            async with db.sessions() as first, db.sessions() as second:
                await first.begin()
                await second.begin()
                assert (await dq.get_or_add_challenge(first, day, 7, mine)).plan == mine  # not committed yet
                waiting = asyncio.create_task(dq.get_or_add_challenge(second, day, 7, theirs))
                await asyncio.sleep(0.2)
                assert not waiting.done()  # held by the first insert's key
                await first.commit()
                kept = await asyncio.wait_for(waiting, 10)
                assert kept.plan == mine
                await second.commit()
        finally:
            await db.close()
