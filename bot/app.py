"""The core, assembled: database, face source, and the services every front-end calls."""
from __future__ import annotations

from dataclasses import dataclass

from bot.boards import BoardService
from bot.chat_settings import ChatSettings
from bot.daily import DailyService
from db.database import Database
from bot.faces import FaceService
from bot.edits.face_edits import EditService
from bot.hall import HallService
from bot.edits.morphs import MorphService
from bot.ops.metrics import BotMetrics
from bot.provenance.credentials import load as load_credentials
from bot.provenance.marking import FaceMarks
from bot.quiz.service import QuizService
from bot.quiz.detail import settle_quiz_detail
from bot.settings import Settings
from generator.curation.source import CuratedSource
from generator.curation.best_of_k import Curator
from generator.interface import DEFAULT_PSI, FaceSource


@dataclass
class Figment:
    settings: Settings
    db: Database
    source: FaceSource
    faces: FaceService
    quiz: QuizService
    boards: BoardService
    chats: ChatSettings
    hall: HallService
    curated: CuratedSource
    daily: DailyService
    metrics: BotMetrics
    morphs: MorphService
    edits: EditService

    @classmethod
    async def open(cls, settings: Settings, source: FaceSource, *, upgrade: bool = True,
                   curator: Curator | None = None, marks: FaceMarks | None = None,
                   metrics: BotMetrics | None = None) -> "Figment":
        """`curator` (bot.ops.wiring.load_curator) picks the quiz's faces, and /face's unseeded ones when
        settings.face_curated; None: no curation (every face is the generator's first try).
        `marks`: the provenance marks of /face images (default: from the settings' signing key).
        `metrics`: where the core and the front-ends count (default: a fresh set, served by nobody)."""
        # Before anything opens: a bad signing key stops the start with a clear message.
        marks = marks or FaceMarks(load_credentials(settings.c2pa_key, settings.c2pa_cert))
        db = Database(settings.db_url)
        await db.ensure_schema(upgrade=upgrade)
        settings = await settle_quiz_detail(settings, db, source)  # what both sides of the quiz can show
        boards = BoardService(db, settings)
        chats = ChatSettings(db, settings)
        psis = set(settings.quiz_psis) | ({DEFAULT_PSI} if settings.face_curated else set())
        curated = CuratedSource(source, curator or Curator(None, 1), psis)
        curated.start()  # the pools fill in the background, so no round waits for K candidates
        hall = HallService(db, source, settings)
        metrics = metrics or BotMetrics()
        return cls(
            settings=settings,
            db=db,
            source=source,
            faces=FaceService(curated if settings.face_curated else source, size=settings.posted_size,
                              per_minute=settings.face_per_minute, marks=marks, db=db),
            quiz=QuizService(db, curated, settings, boards, chats, hall.current_faces, metrics),
            boards=boards,
            chats=chats,
            hall=hall,
            curated=curated,
            daily=DailyService(db, source, settings),
            metrics=metrics,
            morphs=MorphService(source, size=settings.morph_size, frames=settings.morph_frames,
                                fps=settings.morph_fps, per_minute=settings.morph_per_minute, db=db),
            edits=EditService(source, settings.weights, size=settings.posted_size,
                              per_minute=settings.face_per_minute, db=db),
        )

    async def close(self) -> None:
        await self.quiz.shutdown()
        await self.curated.aclose()
        await self.db.close()
