"""Shared fixtures: a Figment core on a real SQLite file, with a drawn test model."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import AsyncIterator, Iterator

import pytest
from PIL import Image

from bot.app import Figment
from bot.quiz.posts import GameSummary, Reveal, RoundPost
from bot.refs import ChatRef
from bot.settings import Settings
from db.models import RealPhoto
from generator.serving.direct import DirectSource
from tests.fakes import DrawnFaceModel

REPO = Path(__file__).resolve().parent.parent
SHARED_FACES = REPO.parent / "shared" / "faces"


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = dict(data_dir=tmp_path / "data", round_seconds=2, round_gap_seconds=0.0,
                                     board_min_answers=1, face_per_minute=1000, quiz_per_minute=1000,
                                     reads_per_minute=1000)
    values["check_per_minute"] = 1000
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@dataclass
class RecordingPresenter:
    """A front-end that records what the core asks it to show."""

    posts: list[tuple[ChatRef, RoundPost]] = field(default_factory=list)
    reveals: list[tuple[ChatRef, str, Reveal]] = field(default_factory=list)
    summaries: list[tuple[ChatRef, GameSummary]] = field(default_factory=list)
    posted: asyncio.Event = field(default_factory=asyncio.Event)

    async def post_round(self, chat: ChatRef, post: RoundPost) -> str:
        self.posts.append((chat, post))
        self.posted.set()
        return f"msg-{post.round_id}"

    async def reveal_round(self, chat: ChatRef, message_ref: str, reveal: Reveal) -> None:
        self.reveals.append((chat, message_ref, reveal))

    async def reveal_apart(self, chat: ChatRef, reveal: Reveal) -> None:
        self.reveals.append((chat, "apart", reveal))

    async def end_game(self, chat: ChatRef, summary: GameSummary) -> None:
        self.summaries.append((chat, summary))

    async def next_post(self, count: int, timeout: float = 10.0) -> RoundPost:
        """Wait until at least `count` rounds were posted; return the latest."""
        async def wait() -> None:
            while len(self.posts) < count:
                self.posted.clear()
                await self.posted.wait()
        await asyncio.wait_for(wait(), timeout)
        return self.posts[-1][1]


class PlatformAway(RecordingPresenter):
    """A front-end whose platform went away: reveals fail, as edits and as new messages."""

    async def reveal_round(self, chat: ChatRef, message_ref: str, reveal: Reveal) -> None:
        raise ConnectionError("the chat platform went away")

    async def reveal_apart(self, chat: ChatRef, reveal: Reveal) -> None:
        raise ConnectionError("the chat platform went away")  # a new message cannot get through either


async def kill_game_tasks(app: Figment) -> None:
    """What SIGKILL does to a core's games: every loop and the lease watch gone mid-step, no lease
    released, no game ended (the database keeps what was committed)."""
    quiz = app.quiz
    tasks = [g.task for g in quiz._games.values() if g.task is not None]
    tasks += [quiz._watch] if quiz._watch is not None else []
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    quiz._games.clear()
    quiz._platforms.clear()
    quiz._watch = None


async def add_real_photos(app: Figment, count: int = 3, pack: str = "test-pack") -> None:
    """Drawn stand-ins for imported photos, stored where the importer would store them."""
    folder = app.settings.data_dir / "photos" / pack
    folder.mkdir(parents=True, exist_ok=True)
    async with app.db.transaction() as session:
        for index in range(count):
            path = folder / f"{index}.png"
            Image.new("RGB", (256, 256), (40 * index, 90, 160)).save(path)
            session.add(RealPhoto(pack=pack, source_path=str(path), source="drawn for tests", licence="CC0",
                                  content_hash=f"hash-{pack}-{index}", perceptual_hash=index,
                                  stored_path=str(path.relative_to(app.settings.data_dir)), split="heldout"))


@pytest.fixture(scope="module")
def one_torch_thread() -> Iterator[None]:
    """Tiny models: one thread is many times faster than two on a busy 2-core machine."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Figment]:
    figment = await Figment.open(settings, DirectSource(DrawnFaceModel()))
    yield figment
    await figment.close()
