"""The core, assembled: database, face source, and the services every front-end calls."""
from __future__ import annotations

from dataclasses import dataclass

from bot.boards import BoardService
from bot.chat_settings import ChatSettings
from bot.database import Database
from bot.faces import FaceService
from bot.provenance.credentials import load as load_credentials
from bot.provenance.marking import FaceMarks
from bot.quiz import QuizService
from bot.settings import Settings
from generator.interface import FaceSource


@dataclass
class Figment:
    settings: Settings
    db: Database
    source: FaceSource
    faces: FaceService
    quiz: QuizService
    boards: BoardService
    chats: ChatSettings

    @classmethod
    async def open(cls, settings: Settings, source: FaceSource, *, upgrade: bool = True,
                   marks: FaceMarks | None = None) -> "Figment":
        # Before anything opens: a bad signing key stops the start with a clear message.
        marks = marks or FaceMarks(load_credentials(settings.c2pa_key, settings.c2pa_cert))
        db = Database(settings.db_url)
        await db.ensure_schema(upgrade=upgrade)
        boards = BoardService(db, settings)
        chats = ChatSettings(db, settings)
        return cls(
            settings=settings,
            db=db,
            source=source,
            faces=FaceService(source, size=settings.posted_size, per_minute=settings.face_per_minute,
                              marks=marks),
            quiz=QuizService(db, source, settings, boards, chats),
            boards=boards,
            chats=chats,
        )

    async def close(self) -> None:
        await self.quiz.shutdown()
        await self.db.close()
