"""A FaceSource that draws unseeded faces from the face bank, and counts live requests.

Seeded requests pass straight to the fallback untouched (`/face SEED` is always the same face);
unseeded ones at a banked truncation take the bank's next face, or the fallback's (today's best 1
of K) when the bank has none left. Every request counts as live while it runs, so the bank's
filler waits for it.
"""
from __future__ import annotations

from bot.bank.bank import FaceBank
from bot.bank.live import LiveRequests
from generator.interface import DEFAULT_PSI, FaceSource, GeneratedFace


class BankedSource:
    def __init__(self, fallback: FaceSource, bank: FaceBank | None, live: LiveRequests) -> None:
        self.fallback = fallback
        self.source = fallback  # what wraps the generator (bot.quiz.detail looks one level down)
        self.bank = bank
        self.live = live
        self.drawn = 0  # faces the bank served
        self.fell_back = 0  # unseeded faces the bank had none for

    @property
    def model_version(self) -> str:
        return self.fallback.model_version

    async def face(self, seed: int | None = None, psi: float = DEFAULT_PSI) -> GeneratedFace:
        async with self.live.track():
            if seed is None and self.bank is not None and self.bank.banks(psi):
                face = await self.bank.draw(psi)
                if face is not None:
                    self.drawn += 1
                    return face
                self.fell_back += 1
            return await self.fallback.face(seed, psi)
