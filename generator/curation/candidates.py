"""Candidate makers: make a batch of faces from given seeds and score each (the face bank's input).

A maker is any async callable `(seeds, psi, mode, floor=None) -> list[Candidate]`, one candidate per
seed, in order, and deterministic (the same seeds, psi, mode and weights give the same scores, up to
float rounding); with a `remake(seed, psi, mode)` method it also makes a kept face again (else the
bank asks the generator for the seed at that psi, which is right for mode "mean" only). The bank
takes whichever maker it is given, so a better picker (a face filter, multi-modal truncation) drops
in without touching the bank. `floor` is the score a candidate must beat to enter the bank (None
while the bank has room): a maker may skip its costly checks at or below it, as the bank keeps none
of those.

`SourceCandidates` is today's scoring: the faces come from a FaceSource as seeded requests (the
in-process generator or a shared `figment generator serve`, asked at low priority when it can be),
the realness critic scores them in a thread, and the broken-face filter, when given, checks each
that beats the floor. It knows the classic truncation only ("mean").
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Awaitable, Protocol, Sequence

import numpy as np

from generator.curation.critic import Critic
from generator.curation.face_filter import FaceFilter
from generator.interface import FaceSource, GeneratedFace, InvalidRequest, check_psi, check_seed

MODES = ("mean",)


@dataclass(frozen=True)
class Candidate:
    seed: int
    psi: float
    mode: str
    score: float  # realness critic logit: higher, more real
    passed_filter: bool | None = None  # a broken-face filter's verdict; None: not checked


class CandidateMaker(Protocol):
    def __call__(self, seeds: Sequence[int], psi: float, mode: str,
                 floor: float | None = None) -> Awaitable[list[Candidate]]: ...


class SourceCandidates:
    """Faces from a FaceSource (seeded, so each can be made again), scored by the critic."""

    modes = MODES

    def __init__(self, source: FaceSource, critic: Critic, face_filter: FaceFilter | None = None) -> None:
        self.source = source
        self.critic = critic
        self.face_filter = face_filter  # a face it rejects is never kept (the critic alone likes some broken faces)

    async def __call__(self, seeds: Sequence[int], psi: float, mode: str = "mean",
                       floor: float | None = None) -> list[Candidate]:
        if mode not in MODES:
            raise InvalidRequest(f"truncation mode must be one of {', '.join(MODES)}")
        psi = check_psi(psi)
        seeds = [check_seed(seed) for seed in seeds]
        faces = await candidate_faces(self.source, seeds, psi)
        pixels = np.stack([np.asarray(face.image.convert("RGB")) for face in faces])
        scores = await asyncio.to_thread(self.critic.score, pixels)
        passed: list[bool | None] = [None] * len(faces)
        if self.face_filter is not None:
            # only faces the bank could keep are checked: at a high effective K most score below its floor
            check = [i for i, score in enumerate(scores) if floor is None or score > floor]
            verdicts = await asyncio.to_thread(self.face_filter.passes, [faces[i].image for i in check])
            for i, ok in zip(check, verdicts):
                passed[i] = ok
        return [Candidate(seed, psi, mode, float(score), ok) for seed, score, ok in zip(seeds, scores, passed)]

    async def remake(self, seed: int, psi: float, mode: str = "mean") -> GeneratedFace:
        """A candidate's face made again from its recipe: a seeded request, live priority."""
        if mode not in MODES:
            raise InvalidRequest(f"truncation mode must be one of {', '.join(MODES)}")
        return await self.source.face(seed, psi)


async def candidate_faces(source: FaceSource, seeds: Sequence[int], psi: float) -> list[GeneratedFace]:
    """The faces of these seeds, asked at low priority where the source has a way to say so (the
    in-process service and the HTTP client: live requests go first), else one request each."""
    low = getattr(source, "low_priority_faces", None)
    if callable(low):
        return list(await low(list(seeds), psi))
    return list(await asyncio.gather(*(source.face(seed, psi) for seed in seeds)))
