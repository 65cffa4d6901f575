"""A FaceSource whose random faces at chosen truncations are curated: the best 1 of K by the critic.

A background task keeps a few curated faces ready per truncation, so no caller waits for K
candidates. Each curated face takes its K candidates as consecutive seeds, first seeds drawn
from a seed sequence in order, and faces are handed out first made, first served: the same seed
sequence gives the same faces. Seeded requests and other truncations pass straight through to
the underlying source (a seeded /face stays exactly reproducible). With K=1 everything passes
through.
"""
from __future__ import annotations

import asyncio
import logging
import secrets
from collections import deque
from typing import Callable, Iterable

from generator.curation.best_of_k import Curator, candidate_seeds
from generator.interface import (
    DEFAULT_PSI, MAX_SEED, FaceSource, GeneratedFace, GeneratorError, GeneratorUnavailable, check_psi,
)

log = logging.getLogger(__name__)


class CuratedSource:
    def __init__(self, source: FaceSource, curator: Curator, psis: Iterable[float], *, pool_size: int = 2,
                 seeds: Callable[[], int] | None = None, retry_seconds: float = 1.0) -> None:
        self.source = source
        self.curator = curator
        self.pool_size = max(1, pool_size)
        self.retry_seconds = retry_seconds
        self._next_seed = seeds or (lambda: secrets.randbelow(MAX_SEED - curator.k + 2))
        self._pools: dict[float, deque[GeneratedFace]] = {check_psi(p): deque() for p in sorted(set(psis))}
        self._waiters: dict[float, deque[asyncio.Future[GeneratedFace]]] = {p: deque() for p in self._pools}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def model_version(self) -> str:
        return self.source.model_version

    @property
    def curating(self) -> bool:
        return self.curator.k > 1 and bool(self._pools)

    def curates(self, psi: float) -> bool:
        return self.curator.k > 1 and psi in self._pools

    async def face(self, seed: int | None = None, psi: float = DEFAULT_PSI) -> GeneratedFace:
        if seed is not None or not self.curates(psi):
            return await self.source.face(seed, psi)
        self._ensure_started()
        pool = self._pools[psi]
        if pool and not self._waiters[psi]:
            face = pool.popleft()
            self._wake.set()
            return face
        waiter: asyncio.Future[GeneratedFace] = asyncio.get_running_loop().create_future()
        self._waiters[psi].append(waiter)
        self._wake.set()
        try:
            return await waiter
        finally:
            if not waiter.done():
                waiter.cancel()

    def pool_levels(self) -> dict[float, int]:
        return {psi: len(pool) for psi, pool in self._pools.items()}

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        for waiters in self._waiters.values():
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(GeneratorUnavailable("the face generator is shut down"))
            waiters.clear()

    def start(self) -> None:
        """Start filling the pools now (else on the first curated request)."""
        if self.curating:
            self._ensure_started()

    # ---- the filler --------------------------------------------------------------------------

    def _ensure_started(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._fill(), name="figment-curated-pool")

    def _neediest(self) -> float | None:
        """The truncation most short of faces (waiters count), or None when every pool is full."""
        deficits = {psi: self.pool_size - len(self._pools[psi]) + sum(not w.done() for w in self._waiters[psi])
                    for psi in self._pools}
        psi = max(deficits, key=deficits.__getitem__)
        return psi if deficits[psi] > 0 else None

    async def _fill(self) -> None:
        while True:
            psi = self._neediest()
            if psi is None:
                self._wake.clear()
                await self._wake.wait()
                continue
            try:
                face = await self._make(psi)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("could not make a curated face at psi %g: %r", psi, error)
                self._fail_waiters(psi, error)
                await asyncio.sleep(self.retry_seconds)  # don't spin on a generator that keeps failing
                continue
            self._deliver(psi, face)

    async def _make(self, psi: float) -> GeneratedFace:
        seeds = candidate_seeds(self._next_seed(), self.curator.k)
        faces = await asyncio.gather(*(self.source.face(seed, psi) for seed in seeds))
        best, _ = await asyncio.to_thread(self.curator.pick, [face.image for face in faces])
        return faces[best]

    def _deliver(self, psi: float, face: GeneratedFace) -> None:
        waiters = self._waiters[psi]
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(face)
                return
        self._pools[psi].append(face)

    def _fail_waiters(self, psi: float, error: Exception) -> None:
        failure = error if isinstance(error, GeneratorError) else GeneratorUnavailable(
            "the face generator failed while making this face; please try again")
        waiters = self._waiters[psi]
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_exception(failure)
