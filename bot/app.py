"""The core, assembled: database, face source, and the services every front-end calls."""
from __future__ import annotations

from dataclasses import dataclass

from bot.bank.bank import BankConfig, FaceBank
from bot.bank.live import LiveRequests
from bot.bank.source import BankedSource
from bot.boards import BoardService
from bot.quiz.challenges import ChallengeService
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
from generator.curation.candidates import CandidateMaker, SourceCandidates
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
    challenges: ChallengeService
    morphs: MorphService
    edits: EditService
    bank: FaceBank | None = None

    @classmethod
    async def open(cls, settings: Settings, source: FaceSource, *, upgrade: bool = True,
                   curator: Curator | None = None, marks: FaceMarks | None = None,
                   metrics: BotMetrics | None = None, maker: CandidateMaker | None = None) -> "Figment":
        """`curator` (bot.ops.wiring.load_curator) picks the quiz's faces, and /face's unseeded ones when
        settings.face_curated; None: no curation (every face is the generator's first try).
        `marks`: the provenance marks of /face images (default: from the settings' signing key).
        `metrics`: where the core and the front-ends count (default: a fresh set, served by nobody).
        `maker`: makes and scores the face bank's candidates (default: the curator's critic on faces
        from `source`); no maker and no critic, or settings.bank_size 0: no bank."""
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
        live = LiveRequests()
        bank = open_bank(settings, db, source, curator, maker, live)
        face_fallback = curated if settings.face_curated else source
        hall = HallService(db, source, settings)
        metrics = metrics or BotMetrics()
        quiz_source = BankedSource(curated, bank, live)
        face_source = BankedSource(face_fallback, bank if settings.bank_face else None, live)
        if bank is not None:
            metrics.watch_bank(lambda: bank.stats.made, lambda: bank.stats.kept,
                               lambda: quiz_source.drawn + face_source.drawn)
        return cls(
            settings=settings,
            db=db,
            source=source,
            faces=FaceService(face_source, size=settings.posted_size,
                              per_minute=settings.face_per_minute, marks=marks, db=db),
            quiz=QuizService(db, quiz_source, settings, boards, chats, hall.current_faces, metrics),
            boards=boards,
            chats=chats,
            hall=hall,
            curated=curated,
            daily=DailyService(db, quiz_source, settings),  # its fakes picked as the quiz's
            metrics=metrics,
            challenges=ChallengeService(db, quiz_source, settings),
            bank=bank,
            morphs=MorphService(source, size=settings.morph_size, frames=settings.morph_frames,
                                fps=settings.morph_fps, per_minute=settings.morph_per_minute, db=db),
            edits=EditService(source, settings.weights, size=settings.posted_size,
                              per_minute=settings.face_per_minute, db=db, marks=marks),
        )

    async def close(self) -> None:
        if self.bank is not None:
            await self.bank.aclose()
        await self.quiz.shutdown()
        await self.challenges.shutdown()
        await self.curated.aclose()
        await self.db.close()


def open_bank(settings: Settings, db: Database, source: FaceSource, curator: Curator | None,
              maker: CandidateMaker | None, live: LiveRequests) -> FaceBank | None:
    """The face bank, its filler started; None when off (bank_size 0) or nothing can score faces."""
    if settings.bank_size == 0:
        return None
    if maker is None:
        if curator is None or curator.critic is None:
            return None
        maker = SourceCandidates(source, curator.critic, curator.face_filter)
    psis = set(settings.quiz_psis) | ({DEFAULT_PSI} if settings.bank_face else set())
    config = BankConfig(capacity=settings.bank_size, max_shows=settings.bank_max_shows, batch=settings.bank_batch,
                        cpu_share=settings.bank_cpu_share)
    bank = FaceBank(db, source, maker, psis, config, live=live)
    bank.start()
    return bank
