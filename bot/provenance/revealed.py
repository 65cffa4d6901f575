"""A quiz round's generated face with its marks, offered only once the round is revealed.

The quiz image itself is never marked (bot.imaging.quiz_image): a mark would give the answer away.
After the reveal the truth is public, so the same face (same seed, psi and model) is made again
and marked the /face way: watermark, and Content Credentials when configured.
"""
from __future__ import annotations

from sqlalchemy.orm import selectinload

from bot import texts
from bot.app import Figment
from bot.errors import UserError
from bot.imaging import PostedImage
from bot.provenance.credentials import FaceFacts
from db.models import Round
from generator.interface import GeneratorError


async def revealed_face(figment: Figment, round_id: int) -> PostedImage:
    """The marked face of a revealed round. UserError when the round is unknown, still open,
    showed a real photo, or its model is no longer the one serving."""
    async with figment.db.transaction() as session:
        round_ = await session.get(Round, round_id, options=[selectinload(Round.generated_face)])
        if round_ is None:
            raise UserError(texts.ANSWER_UNKNOWN)
        if round_.revealed_at is None:
            raise UserError(texts.CREDENTIALS_NOT_YET)
        if round_.is_real or round_.generated_face is None:
            raise UserError(texts.CREDENTIALS_REAL_PHOTO)
        made = round_.generated_face
        seed, psi, version = made.seed, made.truncation, made.model_version
    try:
        face = await figment.source.face(seed, psi)
    except GeneratorError:
        raise UserError(texts.GENERATOR_UNAVAILABLE) from None
    if face.model_version != version:
        raise UserError(texts.CREDENTIALS_OLD_MODEL)
    caption = texts.face_caption(seed, psi, version)
    return await figment.faces.mark(face.image, caption, FaceFacts(version, seed, psi))
