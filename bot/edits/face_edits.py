"""/face with edits: the seeded face moved along attribute directions in W (older, younger, a
given age, smiling, serious), or a strip of five steps along one direction.

Words, after the seed (and an optional psi): `older`, `younger`, `age N`, `smile`, `serious`,
`smile S` (S from -3 to 3, in spreads of the generated faces; what the playground's slider sends),
and `strip`. The edited face keeps its identity (docs/editing.md measures how well); it is
watermarked and captioned as AI-made like every /face.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

import torch
from bot import texts
from bot.errors import UserError
from bot.imaging import PostedImage, face_png, faces_sheet_png, to_posted_size
from bot.edits.morphs import affordable, generator_errors, source_latents, usable
from bot.parsing import parse_psi, parse_seed
from bot.provenance import watermark
from bot.provenance.credentials import FaceFacts
from bot.provenance.marking import FaceMarks
from bot.ratelimits import RateLimiter, SharedRateLimiter
from bot.refs import PlayerRef
from db.database import Database
from generator.editing.directions import Directions, DirectionsError, directions_path
from generator.editing.latents import Latents

log = logging.getLogger(__name__)

AGE_STEP = 15.0            # years for "older" / "younger"
MIN_AGE, MAX_AGE = 10, 80  # what the photos the age model learnt from cover well
SMILE_SPREADS = 2.0        # "smile" / "serious"
MAX_SMILE = 3.0
STRIP = 5
# a strip's ends, in spreads: ageing shows slowly on this generator's faces, a smile at once
STRIP_AGE_SPREADS, STRIP_SMILE_SPREADS = 6.0, 3.0
WORDS = ("older", "younger", "smile", "serious", "strip")


@dataclass(frozen=True)
class EditRequest:
    seed: int
    psi: float
    age: float | None = None           # target age in years
    age_change: float | None = None    # years
    smile: float | None = None         # spreads
    strip: bool = False

    def what(self, t: texts.Texts = texts.EN) -> str:
        """What the edit did, said in t ("older", "age 70, smiling")."""
        parts = []
        if self.age is not None:
            parts.append(t.edit_age(self.age))
        if self.age_change is not None:
            parts.append(t.EDIT_OLDER if self.age_change > 0 else t.EDIT_YOUNGER)
        if self.smile is not None:
            parts.append((t.EDIT_SMILING if self.smile > 0 else t.EDIT_SERIOUS) if abs(self.smile) == SMILE_SPREADS
                         else t.edit_smile(self.smile))
        return ", ".join(parts)

    def caption(self, model_version: str, t: texts.Texts = texts.EN) -> str:
        made = t.edit_strip_caption if self.strip else t.edit_caption
        return made(self.seed, self.psi, model_version, self.what(t))


@dataclass(frozen=True)
class EditPost:
    image: PostedImage
    caption: str               # English: the one written into the image's metadata
    seed: int
    psi: float
    model_version: str
    request: EditRequest

    def caption_in(self, t: texts.Texts) -> str:
        """The caption said in the asker's language (the front-end knows it; the core does not)."""
        return self.request.caption(self.model_version, t)


def is_edit(words: list[str]) -> bool:
    """Whether /face's words ask for an edit (any word after the seed that is not a number)."""
    return any(not _number(word) for word in words[1:])


def _number(word: str) -> bool:
    try:
        float(word.replace(",", "."))
        return True
    except ValueError:
        return False


def parse_edit(words: list[str]) -> EditRequest:
    """`SEED [PSI] EDIT... [strip]` -> EditRequest, or UserError with what to type."""
    if not words:
        raise UserError(texts.EDIT_NEEDS_SEED)
    seed = parse_seed(words[0])
    if seed is None:
        raise UserError(texts.EDIT_NEEDS_SEED)
    rest = list(words[1:])
    psi = parse_psi(rest.pop(0)) if rest and _number(rest[0]) else parse_psi(None)
    age = age_change = smile = None
    strip = False
    while rest:
        word = rest.pop(0).lower()
        if word in ("older", "younger"):
            age_change = AGE_STEP if word == "older" else -AGE_STEP
        elif word == "age":
            age = _age(rest.pop(0) if rest else "")
        elif word in ("smile", "smiling", "serious"):
            if word != "serious" and rest and _number(rest[0]):
                smile = _smile(rest.pop(0))
            else:
                smile = -SMILE_SPREADS if word == "serious" else SMILE_SPREADS
        elif word == "strip":
            strip = True
        else:
            raise UserError(texts.later.edit_unknown(word, WORDS))
    if age is not None and age_change is not None:
        raise UserError(texts.EDIT_USAGE)
    if age is None and age_change is None and smile is None:
        raise UserError(texts.EDIT_USAGE)
    if strip and (age is not None or (age_change is not None) + (smile is not None) != 1):
        raise UserError(texts.EDIT_USAGE)  # a strip walks one direction: older, younger, smile or serious
    return EditRequest(seed, psi, age, age_change, smile, strip)


def _age(word: str) -> float:
    try:
        value = int(word)
    except ValueError:
        raise UserError(texts.later.edit_bad_age(MIN_AGE, MAX_AGE)) from None
    if not MIN_AGE <= value <= MAX_AGE:
        raise UserError(texts.later.edit_bad_age(MIN_AGE, MAX_AGE))
    return float(value)


def _smile(word: str) -> float:
    value = float(word.replace(",", "."))
    if not -MAX_SMILE <= value <= MAX_SMILE:
        raise UserError(texts.EDIT_USAGE)
    return value


def edited_w(w: torch.Tensor, request: EditRequest, directions: Directions) -> torch.Tensor:
    """One row per face to show: the edit, or the strip's five steps (the face itself in the middle
    for older/younger/smile/serious walks from the opposite end to the asked one)."""
    age, smile = directions.items["age"], directions.items["smile"]
    if request.strip:
        direction = age if request.age_change is not None else smile
        sign = 1.0 if (request.age_change or 0) > 0 or (request.smile or 0) > 0 else -1.0
        reach = STRIP_AGE_SPREADS if direction is age else STRIP_SMILE_SPREADS
        spreads = torch.linspace(-reach, reach, STRIP, dtype=w.dtype) * sign
        return direction.moved(w.expand(STRIP, -1), spreads * direction.spread)
    out = w
    if request.age is not None:
        out = age.moved(out, age.steps_for(request.age - float(age.reading(w)[0])))
    elif request.age_change is not None:
        out = age.moved(out, age.steps_for(request.age_change))
    if request.smile is not None:
        out = smile.moved(out, request.smile * smile.spread)
    return out


class EditService:
    def __init__(self, source: object, weights: Path | None, *, size: int, per_minute: int,
                 db: Database | None = None, marks: FaceMarks | None = None) -> None:
        self.source = source
        self.marks = marks or FaceMarks()  # the watermark always; Content Credentials when a signer is set
        self.size = size
        self.path = directions_path(weights)
        self.limiter: RateLimiter | SharedRateLimiter = \
            SharedRateLimiter(db, "face", per_minute) if db is not None else RateLimiter(per_minute)
        self._latents: tuple[object, Latents | None] | None = None
        self._directions: Directions | None = None

    def ready(self) -> tuple[Latents, Directions]:
        model = getattr(self.source, "model", None)
        if self._latents is None or self._latents[0] is not model:
            self._latents = (model, source_latents(self.source))
        latents = usable(self._latents[1])
        if self._directions is None or self._directions.model_version != latents.model_version:
            try:
                directions = Directions.load(self.path)
            except DirectionsError as error:
                log.warning("no attribute directions: %s", error)
                raise UserError(texts.EDIT_NO_DIRECTIONS) from None
            if directions.model_version != latents.model_version:
                log.warning("%s is for model %s, not %s", self.path, directions.model_version,
                            latents.model_version)
                raise UserError(texts.EDIT_NO_DIRECTIONS)
            self._directions = directions
        return latents, self._directions

    async def face_words(self, player: PlayerRef, words: list[str]) -> EditPost:
        """`/face SEED [PSI] EDIT... [strip]`: UserError on bad input, rate limit, or no edits here."""
        request = parse_edit(words)
        latents, directions = self.ready()
        affordable(latents, STRIP if request.strip else 1)
        await self.limiter.admit((player.platform, player.user_id))  # the /face limit: one face's cost
        with generator_errors():
            return await asyncio.to_thread(self.make, latents, directions, request)

    def make(self, latents: Latents, directions: Directions, request: EditRequest) -> EditPost:
        w = latents.w_of([request.seed], request.psi)
        faces = latents.render(edited_w(w, request, directions))
        version = latents.model_version
        caption = request.caption(version)
        if request.strip:
            tile = max(128, self.size // 2)
            marked = [watermark.embed(to_posted_size(face, tile), version) for face in faces]
            image = faces_sheet_png(marked, tile, STRIP, caption)
        else:
            image = face_png(watermark.embed(to_posted_size(faces[0], self.size), version), self.size, caption)
        image = self.marks.signed(image, FaceFacts(version, request.seed, request.psi, request.what()))
        return EditPost(image, caption, request.seed, request.psi, version, request)

