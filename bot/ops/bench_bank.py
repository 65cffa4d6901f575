"""`figment bench bank`: how fast the face bank fills on this machine, and what it costs live requests.

Three phases on the real model and critic, in-process generator service, a fresh SQLite file:
1. the bank alone (no live traffic): candidates made and faces kept per hour, effective K;
2. live traffic without a bank: a /face (unseeded, end to end: face, watermark, file) and a quiz
   fake round image (face, then the quiz's image pipeline) every `gap` seconds, alternately;
3. the same live traffic while the bank fills (FIGMENT_BANK_CPU_SHARE).
Live timings are p50 / p99 / max in milliseconds; phases 2 and 3 run the same request sequence.
"""
from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from bot.app import Figment
from bot.imaging import quiz_image
from bot.refs import PlayerRef
from bot.settings import Settings

BENCHER = PlayerRef("bench", "bencher", "Bencher")


@dataclass
class Phase:
    name: str
    seconds: float
    face_ms: list[float]
    quiz_ms: list[float]
    made: int = 0
    kept: int = 0
    bank_busy: float = 0.0

    def per_hour(self, count: int) -> float:
        return count * 3600 / self.seconds if self.seconds else 0.0


def quantiles(values: list[float]) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]
    return f"{statistics.median(ordered):.0f} / {p99:.0f} / {ordered[-1]:.0f}"


async def _live(figment: Figment, seconds: float, gap: float) -> tuple[list[float], list[float]]:
    """A /face and a quiz fake image, alternately, one every `gap` seconds, for `seconds`."""
    face_ms: list[float] = []
    quiz_ms: list[float] = []
    psi = figment.settings.quiz_psis[0]
    end = time.perf_counter() + seconds
    turn = 0
    while time.perf_counter() < end:
        started = time.perf_counter()
        if turn % 2 == 0:
            await figment.faces.face(BENCHER)
            face_ms.append((time.perf_counter() - started) * 1000)
        else:
            face = await figment.quiz.source.face(None, psi)
            await asyncio.to_thread(quiz_image, face.image, figment.settings.posted_size, figment.settings.quiz_detail)
            quiz_ms.append((time.perf_counter() - started) * 1000)
        turn += 1
        await asyncio.sleep(max(0.0, gap - (time.perf_counter() - started)))
    return face_ms, quiz_ms


async def _phase(name: str, settings: Settings, source, curator, seconds: float, gap: float,  # type: ignore[no-untyped-def]
                 live: bool) -> Phase:
    figment = await Figment.open(settings, source, curator=curator)
    try:
        await asyncio.sleep(1.0)  # let the curated pools fill first, as in a bot that has run a while
        bank = figment.bank
        made0, kept0, busy0 = (bank.stats.made, bank.stats.kept, bank.stats.busy_seconds) if bank else (0, 0, 0.0)
        started = time.perf_counter()
        face_ms, quiz_ms = await _live(figment, seconds, gap) if live else (await asyncio.sleep(seconds) or ([], []))
        elapsed = time.perf_counter() - started
        phase = Phase(name, elapsed, face_ms, quiz_ms)
        if bank is not None:
            phase.made, phase.kept = bank.stats.made - made0, bank.stats.kept - kept0
            phase.bank_busy = bank.stats.busy_seconds - busy0
        return phase
    finally:
        await figment.close()


async def run_async(settings: Settings, seconds: float, gap: float, say: Callable[[str], None]) -> list[Phase]:
    from bot.ops.wiring import curate_k, load_curator, open_face_source

    with tempfile.TemporaryDirectory(prefix="figment-bench-bank-") as folder:
        base = dict(data_dir=Path(folder), face_per_minute=100_000, generator_url=None)
        with_bank = settings.model_copy(update=base)
        without = settings.model_copy(update={**base, "bank_size": 0})
        async with open_face_source(with_bank) as source:
            curator = load_curator(with_bank, source.model_version, curate_k(with_bank, source))
            if curator.critic is None:
                raise ValueError("the face bank needs the realness critic (FIGMENT_CRITIC), and K > 1")
            say("full speed: three batches of candidates, no pauses, nothing else running")
            full = await _full_speed(source, curator.critic, with_bank)
            say(f"phase 1/3: the bank alone for {seconds:g} s")
            alone = await _phase("bank alone", with_bank, source, curator, seconds, gap, live=False)
            say(f"phase 2/3: live requests without a bank for {seconds:g} s")
            plain = await _phase("live, no bank", without, source, curator, seconds, gap, live=True)
            say(f"phase 3/3: live requests while the bank fills for {seconds:g} s")
            filling = await _phase("live, bank filling", with_bank, source, curator, seconds, gap, live=True)
    return [full, alone, plain, filling]


async def _full_speed(source, critic, settings: Settings) -> Phase:  # type: ignore[no-untyped-def]
    """Candidates an hour the machine makes and scores now with nothing else running (share 1)."""
    from generator.curation.candidates import SourceCandidates

    maker = SourceCandidates(source, critic)
    started = time.perf_counter()
    made = 0
    for first in range(0, 3 * settings.bank_batch, settings.bank_batch):
        made += len(await maker(list(range(first, first + settings.bank_batch)), settings.quiz_psis[0], "mean"))
    elapsed = time.perf_counter() - started
    phase = Phase("full speed (share 1, no pauses)", elapsed, [], [], made=made, bank_busy=elapsed)
    return phase


def table(phases: list[Phase], settings: Settings) -> list[str]:
    lines = [f"CPU share {settings.bank_cpu_share:g}, batch {settings.bank_batch}, bank {settings.bank_size} "
             f"faces per truncation, psi {', '.join(f'{p:g}' for p in settings.quiz_psis)}",
             "",
             "| phase | seconds | candidates / hour | kept / hour | effective K | bank busy | "
             "/face ms p50 / p99 / max | quiz image ms p50 / p99 / max |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for phase in phases:
        k = f"{phase.made / phase.kept:.1f}" if phase.kept else "-"
        busy = f"{100 * phase.bank_busy / phase.seconds:.0f}%" if phase.seconds else "-"
        lines.append(f"| {phase.name} | {phase.seconds:.0f} | {phase.per_hour(phase.made):,.0f} | "
                     f"{phase.per_hour(phase.kept):,.0f} | {k} | {busy} | {quantiles(phase.face_ms)} | "
                     f"{quantiles(phase.quiz_ms)} |")
    return lines


def run(settings: Settings, seconds: float, gap: float, say: Callable[[str], None]) -> list[str]:
    return table(asyncio.run(run_async(settings, seconds, gap, say)), settings)
