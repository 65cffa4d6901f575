"""The face bank: kept across restarts, an empty bank falls back, no face shown more than its
limit (two processes, two PostgreSQL sessions), deterministic for a seed sequence, the filler
waits for live requests and works at low priority, the shared-server path, clear setting errors."""
from __future__ import annotations

import asyncio
import itertools
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Sequence

import pytest
import torch
from pydantic import ValidationError
from sqlalchemy import func, select

from bot.bank.bank import BankConfig, FaceBank
from bot.bank.live import LiveRequests
from bot.bank.source import BankedSource
from db import face_bank
from db.database import Database
from db.models import FaceBankEntry
from generator.curation.candidates import Candidate, SourceCandidates
from generator.curation.critic import CriticNet, load_critic, save_critic
from generator.interface import GeneratedFace
from generator.serving.client import HttpFaceSource
from generator.serving.direct import DirectSource
from generator.serving.server import start_server
from generator.serving.service import GeneratorService, ServiceConfig
from tests.conftest import make_settings
from tests.fakes import DrawnFaceModel
from tests.pg_fresh import fresh_database, reachable

REPO = Path(__file__).resolve().parents[1]
VERSION = DrawnFaceModel.model_version
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def critic(tmp_path: Path):  # type: ignore[no-untyped-def]
    torch.manual_seed(0)
    path = tmp_path / "critic.safetensors"
    save_critic(path, CriticNet((8, 16)), {"model_version": VERSION})
    return load_critic(path)


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def open_db(url: str) -> Database:
    db = Database(url)
    await db.ensure_schema()
    return db


def seed_sequence(start: int = 1000):  # type: ignore[no-untyped-def]
    counter = itertools.count(start, 97)
    return lambda: next(counter)


class SeedScores:
    """A maker that scores by seed alone (no model): for the tests of the bank's bookkeeping."""

    def __init__(self) -> None:
        self.calls: list[list[int]] = []
        self.running = False
        self.delay = 0.0

    async def __call__(self, seeds: Sequence[int], psi: float, mode: str,
                       floor: float | None = None) -> list[Candidate]:
        self.running = True
        try:
            self.calls.append(list(seeds))
            await asyncio.sleep(self.delay)
            return [Candidate(seed, psi, mode, float((seed * 7919) % 1000)) for seed in seeds]
        finally:
            self.running = False


async def bank_rows(db: Database) -> list[tuple]:
    async with db.transaction() as session:
        rows = await session.execute(select(FaceBankEntry.model_version, FaceBankEntry.seed, FaceBankEntry.psi,
                                            FaceBankEntry.mode, FaceBankEntry.score, FaceBankEntry.shown)
                                     .order_by(FaceBankEntry.id))
        return [tuple(row) for row in rows.all()]


async def test_the_bank_survives_a_restart(tmp_path: Path, critic) -> None:  # type: ignore[no-untyped-def]
    url = sqlite_url(tmp_path / "figment.db")
    db = await open_db(url)
    source = DirectSource(DrawnFaceModel())
    bank = FaceBank(db, source, SourceCandidates(source, critic), [0.85], BankConfig(capacity=4, batch=6),
                    seeds=seed_sequence())
    for _ in range(3):
        await bank.fill_once()
    before = await bank_rows(db)
    assert len(before) == 4 and bank.stats.made == 18
    assert bank.stats.effective_k is not None and bank.stats.effective_k >= 18 / 12
    kept_best = sorted(row[4] for row in before)
    await db.close()

    db = await open_db(url)  # a new process on the same file
    try:
        bank = FaceBank(db, source, SourceCandidates(source, critic), [0.85], BankConfig(capacity=4, batch=6))
        assert await bank_rows(db) == before
        face = await bank.draw(0.85)
        assert face is not None and face.seed in {row[1] for row in before}
        best = max(before, key=lambda row: row[4])
        assert face.seed == best[1]  # the top of the bank first
        again = await source.face(face.seed, 0.85)  # made again from the stored seed: the same face
        assert face.image.tobytes() == again.image.tobytes()
        assert sorted(row[4] for row in await bank_rows(db)) == kept_best
    finally:
        await db.close()


async def test_an_empty_bank_falls_back_and_seeded_faces_pass_through(tmp_path: Path) -> None:
    db = await open_db(sqlite_url(tmp_path / "figment.db"))
    try:
        fallback = DirectSource(DrawnFaceModel())
        bank = FaceBank(db, fallback, SeedScores(), [0.85], BankConfig(capacity=4, batch=4))
        source = BankedSource(fallback, bank, LiveRequests())
        face = await source.face(None, 0.85)
        assert source.fell_back == 1 and source.drawn == 0 and face.psi == 0.85
        await bank.fill_once()
        assert (await source.face(None, 0.85)).seed in bank.maker.calls[0]  # type: ignore[attr-defined]
        assert source.drawn == 1
        shown = [row[5] for row in await bank_rows(db)]
        assert (await source.face(5, 0.85)).seed == 5  # seeded: never the bank's
        assert (await source.face(None, 0.7)).psi == 0.7  # a truncation the bank does not keep
        assert [row[5] for row in await bank_rows(db)] == shown and source.drawn == 1
    finally:
        await db.close()


async def test_entries_of_another_model_version_are_ignored_not_deleted(tmp_path: Path) -> None:
    db = await open_db(sqlite_url(tmp_path / "figment.db"))
    try:
        async with db.transaction() as session:
            await face_bank.add(session, "an-older-model", [face_bank.Recipe(7, 0.85, "mean", 99.0)])
        bank = FaceBank(db, DirectSource(DrawnFaceModel()), SeedScores(), [0.85], BankConfig(capacity=2, batch=4))
        assert await bank.draw(0.85) is None
        await bank.fill_once()
        await bank.fill_once()
        assert (await bank.draw(0.85)).seed != 7  # type: ignore[union-attr]
        assert ("an-older-model", 7, 0.85, "mean", 99.0, 0) in await bank_rows(db)
    finally:
        await db.close()


async def test_a_face_is_shown_at_most_the_set_number_of_times(tmp_path: Path) -> None:
    db = await open_db(sqlite_url(tmp_path / "figment.db"))
    try:
        bank = FaceBank(db, DirectSource(DrawnFaceModel()), SeedScores(), [0.85],
                        BankConfig(capacity=3, max_shows=2, batch=5), seeds=seed_sequence())
        await bank.fill_once()
        seeds = [face.seed for face in [await bank.draw(0.85) for _ in range(6)] if face is not None]
        assert len(seeds) == 6 and set(Counter(seeds).values()) == {2}
        assert len(set(seeds[:3])) == 3
        assert await bank.draw(0.85) is None
        await bank.fill_once()  # the filler drops the faces shown their last time
        assert all(row[5] < 2 for row in await bank_rows(db))
    finally:
        await db.close()


async def fill_directly(db: Database, count: int) -> None:
    async with db.transaction() as session:
        await face_bank.add(session, VERSION, [face_bank.Recipe(seed, 0.85, "mean", float(seed % 5))
                                               for seed in range(count)])


def test_two_processes_never_claim_a_showing_twice(tmp_path: Path) -> None:
    path = tmp_path / "figment.db"
    url = sqlite_url(path)

    async def prepare() -> None:
        db = await open_db(url)
        await fill_directly(db, 40)
        await db.close()

    asyncio.run(prepare())
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    go = tmp_path / "go"
    claimers = [subprocess.Popen([sys.executable, "-m", "tests.bank_claimer", url, VERSION, "0.85", "3", str(go)],
                                 cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(2)]
    for claimer in claimers:  # both started and connected before either claims (a slow start is no race)
        assert claimer.stderr is not None and claimer.stderr.readline().strip() == "ready"
    go.touch()
    got = []
    for claimer in claimers:
        out, err = claimer.communicate(timeout=120)
        assert claimer.returncode == 0, err
        got.append(json.loads(out))
    assert all(got), "both processes claimed faces"
    counts = Counter(itertools.chain(*got))
    assert len(counts) == 40 and set(counts.values()) == {3}  # every showing handed out exactly once


async def claim_all(db: Database, max_shows: int) -> list[int]:
    got = []
    while True:
        async with db.transaction() as session:
            banked = await face_bank.claim(session, VERSION, 0.85, max_shows)
        if banked is None:
            return got
        got.append(banked.id)


async def test_two_postgresql_sessions_never_claim_a_showing_twice() -> None:
    if not await reachable():
        pytest.skip("no PostgreSQL server")
    async with fresh_database("bank") as url:
        dbs = [await open_db(url), Database(url)]
        try:
            await fill_directly(dbs[0], 30)
            got = await asyncio.gather(*(claim_all(db, 2) for db in dbs for _ in range(3)))
            counts = Counter(itertools.chain(*got))
            assert len(counts) == 30 and set(counts.values()) == {2}
            async with dbs[0].transaction() as session:
                assert (await session.execute(select(func.max(FaceBankEntry.shown)))).scalar_one() == 2
        finally:
            for db in dbs:
                await db.close()


async def test_picking_is_deterministic_for_a_seed_sequence(tmp_path: Path, critic) -> None:  # type: ignore[no-untyped-def]
    runs = []
    for name in ("a", "b"):
        db = await open_db(sqlite_url(tmp_path / f"{name}.db"))
        try:
            source = DirectSource(DrawnFaceModel())
            bank = FaceBank(db, source, SourceCandidates(source, critic), [0.85],
                            BankConfig(capacity=5, batch=4, max_shows=1), seeds=seed_sequence(123))
            for _ in range(4):
                await bank.fill_once()
            drawn = [(await bank.draw(0.85)).seed for _ in range(5)]  # type: ignore[union-attr]
            runs.append(([row[1] for row in await bank_rows(db)], drawn))
        finally:
            await db.close()
    assert runs[0] == runs[1]
    assert len(set(runs[0][1])) == 5


async def test_the_filler_waits_while_a_live_request_runs(tmp_path: Path) -> None:
    db = await open_db(sqlite_url(tmp_path / "figment.db"))
    maker = SeedScores()
    maker.delay = 0.02
    live = LiveRequests()
    bank = FaceBank(db, DirectSource(DrawnFaceModel()), maker, [0.85],
                    BankConfig(capacity=8, batch=2, cpu_share=1.0), live=live)
    try:
        bank.start()
        await wait_for(lambda: len(maker.calls) >= 2)
        async with live.track():
            await wait_for(lambda: not maker.running)
            calls = len(maker.calls)
            await asyncio.sleep(0.5)
            assert len(maker.calls) == calls and not maker.running  # no batch while the request runs
        await wait_for(lambda: len(maker.calls) > calls)
    finally:
        await bank.aclose()
        await db.close()


def test_the_cpu_share_sets_the_pause_between_batches() -> None:
    assert BankConfig(cpu_share=1.0).pause_after(0.4) == 0
    assert BankConfig(cpu_share=0.25).pause_after(0.4) == pytest.approx(1.2)
    assert BankConfig(cpu_share=0.5).pause_after(0.4) == pytest.approx(0.4)


async def wait_for(condition, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.01)
    await asyncio.wait_for(poll(), timeout)


class SlowModel(DrawnFaceModel):
    def generate(self, seeds, psi):  # type: ignore[no-untyped-def]
        import time
        time.sleep(0.03 * len(seeds))
        return super().generate(seeds, psi)


async def test_live_requests_go_before_low_priority_candidates() -> None:
    model = SlowModel()
    config = ServiceConfig(max_batch=4, refill_batch=2, pool_size=0, max_wait_ms=1)
    async with GeneratorService(model, config) as service:
        low = asyncio.create_task(service.low_priority_faces(list(range(100, 120)), 0.85))
        await wait_for(lambda: len(model.calls) >= 1)
        live = await service.face(7, 0.85)
        assert live.seed == 7 and not low.done()  # served while most candidates still wait
        faces = await low
        assert [face.seed for face in faces] == list(range(100, 120))
    order = [seeds for seeds, _ in model.calls]
    assert (7,) in order and order.index((7,)) < len(order) - 1
    assert max(len(seeds) for seeds in order if 7 not in seeds) <= 2  # low batches stay small


async def test_a_bank_fills_from_a_shared_generator_server(tmp_path: Path, critic) -> None:  # type: ignore[no-untyped-def]
    model = SlowModel()
    async with GeneratorService(model, ServiceConfig(pool_size=0)) as service:
        runner, port = await start_server(service, "127.0.0.1", 0)
        try:
            async with HttpFaceSource(f"http://127.0.0.1:{port}") as client:
                db = await open_db(sqlite_url(tmp_path / "figment.db"))
                try:
                    bank = FaceBank(db, client, SourceCandidates(client, critic), [0.85],
                                    BankConfig(capacity=3, batch=5), seeds=seed_sequence(40))
                    made, kept = await bank.fill_once()
                    assert (made, kept) == (5, 3)
                    assert any(len(seeds) > 1 for seeds, _ in model.calls)  # asked as one low-priority batch
                    face = await BankedSource(client, bank, LiveRequests()).face(None, 0.85)
                    assert face.seed in range(40, 45) and face.model_version == VERSION
                    local = DrawnFaceModel().generate([face.seed], 0.85)[0]
                    assert face.image.convert("RGB").tobytes() == local.convert("RGB").tobytes()
                finally:
                    await db.close()
            import aiohttp
            async with aiohttp.ClientSession() as http:
                async with http.get(f"http://127.0.0.1:{port}/generate", params={"priority": "low"}) as response:
                    assert response.status == 400 and "needs a seed" in (await response.json())["message"]
        finally:
            await runner.cleanup()


def test_bad_bank_settings_are_refused_clearly(tmp_path: Path) -> None:
    for name, value in (("bank_cpu_share", 0), ("bank_cpu_share", 1.5), ("bank_size", -1),
                        ("bank_max_shows", 0), ("bank_batch", 65)):
        with pytest.raises(ValidationError, match=name):
            make_settings(tmp_path, **{name: value})
    with pytest.raises(ValueError, match="CPU share"):
        BankConfig(cpu_share=float("nan"))
    env = {**os.environ, "PYTHONPATH": str(REPO), "FIGMENT_BANK_CPU_SHARE": "2", "FIGMENT_DATA_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "bot.cli", "bench", "bank", "--seconds", "1"], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "FIGMENT_BANK_CPU_SHARE" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


async def test_the_bank_migration_goes_down_and_up_on_postgresql() -> None:
    """0009_face_bank on a PostgreSQL database with a bank row and a game: down to 0007 the game
    stays, the bank table goes; up again it comes back empty and works."""
    if not await reachable():
        pytest.skip("no PostgreSQL server")
    from db import migrate
    from sqlalchemy import text

    async with fresh_database("bankmig") as url:
        db = await open_db(url)
        try:
            await fill_directly(db, 3)
            async with db.transaction() as session:
                await session.execute(text("INSERT INTO chats (platform, platform_chat_id, title, settings, created_at) "
                                           "VALUES ('web', 'c1', 'Chat', '{}', now())"))
        finally:
            await db.close()
        await asyncio.to_thread(migrate.downgrade, url, "0007")
        db = Database(url)
        try:
            async with db.transaction() as session:
                tables = (await session.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))).scalars().all()
                assert "face_bank" not in tables
                assert (await session.execute(text("SELECT count(*) FROM chats"))).scalar_one() == 1
        finally:
            await db.close()
        await asyncio.to_thread(migrate.upgrade, url)
        db = await open_db(url)
        try:
            await fill_directly(db, 2)
            assert len(await claim_all(db, 1)) == 2
        finally:
            await db.close()


@pytest.mark.parametrize("bank_face", [True, False])
async def test_the_quiz_draws_from_the_bank_and_face_as_the_setting_says(tmp_path: Path, bank_face: bool) -> None:
    from bot.app import Figment
    from bot.refs import PlayerRef

    settings = make_settings(tmp_path, bank_face=bank_face, bank_size=4, bank_max_shows=1, quiz_psis=(0.85,))
    maker = SeedScores()
    figment = await Figment.open(settings, DirectSource(DrawnFaceModel()), maker=maker)
    try:
        assert figment.bank is not None
        await wait_for(lambda: figment.bank.stats.batches >= 2)  # the filler runs by itself, each psi in turn
        quiz = await figment.quiz.source.face(None, 0.85)
        post = await figment.faces.face(PlayerRef("test", "a", "A"))
        made = {seed for seeds in maker.calls for seed in seeds}
        assert quiz.seed in made
        assert (post.seed in made) is bank_face and post.psi == 0.7
        assert (await figment.faces.face(PlayerRef("test", "a", "A"), "5")).seed == 5
        metrics = figment.metrics.registry
        assert metrics.get_sample_value("figment_bank_faces_drawn") == (2 if bank_face else 1)
        assert metrics.get_sample_value("figment_bank_candidates_made") >= 16
        assert metrics.get_sample_value("figment_bank_effective_k") >= 1
    finally:
        await figment.close()
    assert figment.bank.stats.effective_k is not None


async def test_faces_the_broken_face_filter_rejects_are_never_kept(tmp_path: Path, critic) -> None:  # type: ignore[no-untyped-def]
    """The bank's default maker checks every candidate with the broken-face filter (dlib finds a face,
    its landmarks where a face's are): the drawn test faces are mostly no faces to dlib, and none it
    rejects is kept; without the filter the same batch is kept whole."""
    from generator.curation.face_filter import FaceFilter

    db = await open_db(sqlite_url(tmp_path / "figment.db"))
    try:
        source = DirectSource(DrawnFaceModel())
        filtered = SourceCandidates(source, critic, FaceFilter())
        seeds = list(range(1000, 1008))  # the batch seed_sequence() gives first
        verdicts = {c.seed: c.passed_filter for c in await filtered(seeds, 0.85)}
        assert set(verdicts.values()) <= {True, False} and False in verdicts.values()
        bank = FaceBank(db, source, filtered, [0.85], BankConfig(capacity=8, batch=8), seeds=seed_sequence())
        await bank.fill_once()
        kept = {row[1] for row in await bank_rows(db)}
        assert bank.stats.made == 8 and kept == {seed for seed, ok in verdicts.items() if ok}
        unfiltered = FaceBank(db, source, SourceCandidates(source, critic), [0.85], BankConfig(capacity=8, batch=8),
                              seeds=seed_sequence())
        await unfiltered.fill_once()
        assert {row[1] for row in await bank_rows(db)} == set(seeds)
    finally:
        await db.close()


async def test_a_full_bank_checks_only_candidates_that_could_enter(tmp_path: Path, critic) -> None:  # type: ignore[no-untyped-def]
    """At a high effective K most candidates score below the bank's floor; the broken-face filter
    (dlib, about as costly as making the face) then runs only on those that could be kept."""
    from generator.curation.face_filter import FaceFilter

    class CountingFilter(FaceFilter):
        def __init__(self) -> None:
            super().__init__()
            self.checked = 0

        def passes(self, images: list) -> list[bool]:
            self.checked += len(images)
            return super().passes(images)

    db = await open_db(sqlite_url(tmp_path / "figment.db"))
    try:
        source = DirectSource(DrawnFaceModel())
        face_filter = CountingFilter()
        maker = SourceCandidates(source, critic, face_filter)
        scores = [c.score for c in await SourceCandidates(source, critic)(list(range(5000, 5008)), 0.85)]
        face_filter.checked = 0
        ranked = sorted(scores)
        floor = (ranked[3] + ranked[4]) / 2  # four of the eight beat it
        candidates = await maker(list(range(5000, 5008)), 0.85, floor=floor)
        assert face_filter.checked == 4
        assert [c.passed_filter is not None for c in candidates] == [s > floor for s in scores]
        assert len(await maker(list(range(5000, 5008)), 0.85)) == 8 and face_filter.checked == 12  # no floor: all
        batch = sorted(c.score for c in await SourceCandidates(source, critic)(list(range(1000, 1008)), 0.85))
        bank = FaceBank(db, source, maker, [0.85], BankConfig(capacity=1, batch=8), seeds=seed_sequence())
        await bank.keep([Candidate(1, 0.85, "mean", (batch[3] + batch[4]) / 2, True)])  # full: its weakest is the floor
        face_filter.checked = 0
        await bank.fill_once()  # the batch seed_sequence() gives first: 1000..1007
        assert face_filter.checked == 4
    finally:
        await db.close()


async def test_the_daily_challenge_shows_the_banks_faces_not_plain_samples(tmp_path: Path) -> None:
    """The daily's fake rounds are picked as the quiz's are: drawn from the face bank (else the best
    1 of K), never a plain random seed."""
    from bot.app import Figment
    from bot.daily import utc_today
    from bot.refs import PlayerRef
    from db.models import DailyChallenge
    from tests.conftest import add_real_photos

    settings = make_settings(tmp_path, bank_size=16, bank_max_shows=1, quiz_psis=(0.85,), posted_size=64,
                             bank_face=False)
    maker = SeedScores()
    figment = await Figment.open(settings, DirectSource(DrawnFaceModel()), maker=maker)
    try:
        await add_real_photos(figment, count=6)
        assert figment.bank is not None
        await wait_for(lambda: figment.bank.stats.kept >= 8)  # enough for the day's five rounds
        await figment.bank.aclose()  # nothing more goes in: every face drawn must be one made above
        await figment.daily.start(PlayerRef("test", "ann", "Ann"))
        async with figment.db.transaction() as session:
            plan = (await session.get(DailyChallenge, utc_today().isoformat())).plan
        made = {seed for seeds in maker.calls for seed in seeds}
        fakes = [entry for entry in plan if not entry["is_real"]]
        assert all(entry["seed"] in made and entry["psi"] == 0.85 for entry in fakes)
        shown = [row for row in await bank_rows(figment.db) if row[5] > 0]
        assert len(shown) == 5  # a face drawn for every round before the coins, real ones too
    finally:
        await figment.close()
