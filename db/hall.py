"""The hall of fakes: the generated faces that fooled the most players, read from the counts that
reveals move (db.scoring). Ranked by the Wilson lower bound of the fool rate, with a minimum
number of answers, since a face that fooled 2 of 2 says little. The hall is the state as of the
last reveal and is never filtered by open rounds: a hard game shows hall faces again, and leaving
out a face whose round is open would tell that round's truth (missing face: a fake).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import FaceFools, GeneratedFace


@dataclass(frozen=True)
class HallRow:
    rank: int
    face_id: int
    seed: int
    truncation: float
    model_version: str
    answers: int
    fooled: int
    wilson: float

    @property
    def fool_rate(self) -> float:
        return self.fooled / self.answers if self.answers else 0.0


async def hall_of_fakes(session: AsyncSession, *, period: str, min_answers: int, limit: int = 10,
                        model_version: str | None = None) -> list[HallRow]:
    """The top faces of a period ('all' or an ISO week); one model version only when given."""
    query = (
        select(FaceFools.generated_face_id, GeneratedFace.seed, GeneratedFace.truncation,
               GeneratedFace.model_version, FaceFools.answers, FaceFools.fooled, FaceFools.wilson)
        .join(GeneratedFace, GeneratedFace.id == FaceFools.generated_face_id)
        .where(FaceFools.period == period, FaceFools.answers >= min_answers)
        .order_by(FaceFools.wilson.desc(), FaceFools.answers.desc(), FaceFools.generated_face_id)
        .limit(limit)
    )
    if model_version is not None:
        query = query.where(GeneratedFace.model_version == model_version)
    rows = (await session.execute(query)).all()
    return [HallRow(i + 1, face_id, int(seed), float(psi), version, int(n), int(fooled), float(wilson))
            for i, (face_id, seed, psi, version, n, fooled, wilson) in enumerate(rows)]
