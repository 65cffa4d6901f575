"""The simplest FaceSource: one model, called in a worker thread, one request at a time.

The batching, pooled service (generator/serving/service.py) is what the bot runs; this one serves tools
and tests that want no background machinery.
"""
from __future__ import annotations

import asyncio
import secrets

from generator.interface import DEFAULT_PSI, FaceModel, GeneratedFace, MAX_SEED, check_psi, check_seed


class DirectSource:
    def __init__(self, model: FaceModel) -> None:
        self.model = model
        self.model_version = model.model_version
        self._lock = asyncio.Lock()

    async def face(self, seed: int | None = None, psi: float = DEFAULT_PSI) -> GeneratedFace:
        seed = secrets.randbelow(MAX_SEED + 1) if seed is None else check_seed(seed)
        psi = check_psi(psi)
        async with self._lock:
            [image] = await asyncio.to_thread(self.model.generate, [seed], psi)
        return GeneratedFace(image, seed, psi, self.model_version)
