"""The face bank: a filler that makes and scores candidates in idle time and keeps the best, and
the draw that hands out its top faces, each at most `max_shows` times.

The filler runs at the lowest priority: before each batch it waits until no live request (a /face,
a quiz image) is in flight in this process, asks the generator for its candidates at low priority
(a shared server then serves every bot's live requests first), and after each batch sleeps so
that it takes about `cpu_share` of the time: a batch that took t seconds is followed by
t * (1 - share) / share seconds of sleep.

Candidates of one batch are consecutive seeds from a seed sequence (default: `secrets`), so the
same sequence gives the same bank and the same faces drawn. Rows hold recipes, never pixels: a
drawn face is made again from its seed, so the bank belongs to one model version; rows of another
version stay in the table, ignored.
"""
from __future__ import annotations

import asyncio
import logging
import math
import secrets
import time
from dataclasses import dataclass, field
from typing import Awaitable, Callable, Iterable, Sequence

from bot.bank.live import LiveRequests
from db import face_bank
from db.database import Database
from generator.curation.best_of_k import candidate_seeds
from generator.curation.candidates import Candidate, CandidateMaker
from generator.interface import MAX_SEED, FaceSource, GeneratedFace, InvalidRequest, check_psi

log = logging.getLogger(__name__)

Remake = Callable[[int, float, str], Awaitable[GeneratedFace]]


@dataclass(frozen=True)
class BankConfig:
    capacity: int = 512  # faces kept per truncation (and model version)
    max_shows: int = 3  # times one face may be shown
    batch: int = 8  # candidates made per batch
    cpu_share: float = 0.5  # of the time the filler may work (0 < share <= 1)
    mode: str = "mean"  # truncation mode of the candidates
    retry_seconds: float = 5.0  # pause after a failed batch (the generator is down or busy)

    def __post_init__(self) -> None:
        if isinstance(self.capacity, bool) or not isinstance(self.capacity, int) or self.capacity < 1:
            raise ValueError(f"the bank's capacity must be a whole number of at least 1, not {self.capacity!r}")
        if isinstance(self.max_shows, bool) or not isinstance(self.max_shows, int) or self.max_shows < 1:
            raise ValueError(f"a banked face's showings must be a whole number of at least 1, not {self.max_shows!r}")
        if isinstance(self.batch, bool) or not isinstance(self.batch, int) or not 1 <= self.batch <= 64:
            raise ValueError(f"the bank's batch must be a whole number from 1 to 64, not {self.batch!r}")
        if not (isinstance(self.cpu_share, (int, float)) and math.isfinite(self.cpu_share)
                and 0 < self.cpu_share <= 1):
            raise ValueError(f"the bank's CPU share must be a number above 0 and at most 1, not {self.cpu_share!r}")

    def pause_after(self, busy_seconds: float) -> float:
        """Sleep after a batch that took busy_seconds, so the filler works cpu_share of the time."""
        return busy_seconds * (1 - self.cpu_share) / self.cpu_share


@dataclass
class BankStats:
    made: int = 0  # candidates made and scored
    kept: int = 0  # of them, entered the bank
    batches: int = 0
    busy_seconds: float = 0.0  # making and scoring
    paused_seconds: float = 0.0  # waiting for live requests to finish
    started: float = field(default_factory=time.monotonic)

    @property
    def effective_k(self) -> float | None:
        """Candidates made per face kept: what 'best 1 of K' the bank amounts to."""
        return self.made / self.kept if self.kept else None


def source_remake(source: FaceSource) -> Remake:
    """Make a banked face again from its recipe, as a seeded request to the generator."""
    async def remake(seed: int, psi: float, mode: str) -> GeneratedFace:
        if mode != "mean":
            raise InvalidRequest(f"this generator makes faces of truncation mode 'mean' only, not {mode!r}")
        return await source.face(seed, psi)
    return remake


class FaceBank:
    def __init__(self, db: Database, source: FaceSource, maker: CandidateMaker, psis: Iterable[float],
                 config: BankConfig | None = None, *, live: LiveRequests | None = None,
                 remake: Remake | None = None, seeds: Callable[[], int] | None = None) -> None:
        self.db = db
        self.source = source  # whose model version the bank is of
        self.maker = maker
        self.config = config or BankConfig()
        self.psis = tuple(sorted({check_psi(psi) for psi in psis}))
        if not self.psis:
            raise ValueError("the bank needs at least one truncation to fill")
        self.live = live or LiveRequests()
        # How a drawn face is made again: given, else the maker's own (a picker with its own truncation
        # modes knows how), else a seeded request to the generator (classic truncation).
        self.remake: Remake = remake or getattr(maker, "remake", None) or source_remake(source)
        self._next_seed = seeds or (lambda: secrets.randbelow(MAX_SEED - self.config.batch + 2))
        self.stats = BankStats()
        self._turn = 0
        self._task: asyncio.Task[None] | None = None

    @property
    def model_version(self) -> str:
        return self.source.model_version

    def banks(self, psi: float) -> bool:
        return psi in self.psis

    # ---- drawing --------------------------------------------------------------------------

    async def draw(self, psi: float) -> GeneratedFace | None:
        """The bank's next face at psi, made again from its seed; None when the bank has none left."""
        if psi not in self.psis or self.model_version == "unknown":
            return None
        async with self.db.transaction() as session:
            banked = await face_bank.claim(session, self.model_version, psi, self.config.max_shows)
        if banked is None:
            return None
        return await self.remake(banked.seed, banked.psi, banked.mode)

    async def levels(self) -> dict[float, face_bank.Level]:
        async with self.db.transaction() as session:
            return await face_bank.levels(session, self.model_version, self.config.max_shows)

    # ---- filling --------------------------------------------------------------------------

    async def fill_once(self, psi: float | None = None) -> tuple[int, int]:
        """Make, score and keep one batch (at the next truncation in turn): (made, kept)."""
        if psi is None:
            psi = self.psis[self._turn % len(self.psis)]
            self._turn += 1
        seeds = candidate_seeds(self._next_seed(), self.config.batch)
        async with self.db.transaction() as session:  # what a candidate must beat to be kept
            floor = await face_bank.cutoff(session, self.model_version, psi, self.config.capacity)
        started = time.perf_counter()
        candidates = await self.maker(seeds, psi, self.config.mode, floor=floor)
        self.stats.busy_seconds += time.perf_counter() - started
        kept = await self.keep(candidates)
        self.stats.made += len(candidates)
        self.stats.kept += kept
        self.stats.batches += 1
        return len(candidates), kept

    async def keep(self, candidates: Sequence[Candidate]) -> int:
        """Put the candidates that beat the bank's weakest (and did not fail a face filter) in the
        bank, then trim it to its capacity: how many of them stayed."""
        version = self.model_version
        if version == "unknown" or not candidates:  # a shared server not reached yet: nothing to tie them to
            return 0
        kept = 0
        for psi in sorted({c.psi for c in candidates}):
            mine = [c for c in candidates if c.psi == psi and c.passed_filter is not False and math.isfinite(c.score)]
            async with self.db.transaction() as session:
                floor = await face_bank.cutoff(session, version, psi, self.config.capacity)
                better = [face_bank.Recipe(c.seed, c.psi, c.mode, c.score) for c in mine
                          if floor is None or c.score > floor]
                await face_bank.add(session, version, better)
                await face_bank.prune(session, version, psi, self.config.capacity, self.config.max_shows)
                kept += await face_bank.present(session, version, better)
        return kept

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._fill(), name="figment-face-bank")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def _fill(self) -> None:
        while True:
            waited = time.monotonic()
            await self.live.wait_idle()  # the lowest priority: live requests first
            self.stats.paused_seconds += time.monotonic() - waited
            started = time.perf_counter()
            try:
                await self.fill_once()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("the face bank could not make a batch: %r; trying again in %g s",
                            error, self.config.retry_seconds)
                await asyncio.sleep(self.config.retry_seconds)
                continue
            if self.stats.batches % 100 == 1:
                k = self.stats.effective_k
                log.info("face bank: %d candidates made, %d kept (effective K %s)", self.stats.made,
                         self.stats.kept, f"{k:.1f}" if k else "-")
            await asyncio.sleep(self.config.pause_after(time.perf_counter() - started))
