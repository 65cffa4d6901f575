"""An imported StyleGAN2 in the quiz: its faces at the quiz's detail level, FIGMENT_QUIZ_DETAIL raised
where the generator and the photo packs hold that detail (lowered with a warning where they do not),
and the fool rate, the hall and /stats kept per model version."""
from __future__ import annotations

import io
import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bot.app import Figment
from bot.imaging import QUIZ_DETAIL, quiz_image, to_quiz_pixels
from bot.quiz.detail import settle
from bot.refs import ChatRef, PlayerRef
from bot.quiz.next_image import RoundImages
from db.models import RealPhoto
from generator.serving.direct import DirectSource
from generator.loading import load_face_model
from generator.stylegan2.importer import import_weights
from tests.conftest import make_settings
from tests.fakes import DrawnFaceModel
from tests.hall_data import face_round
from tests.test_stylegan2_equality import DATA
from tests.test_stylegan2_frontends import imported_core


@pytest.fixture(scope="module")
def paper256(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return import_weights(DATA / "paper256-snapshot.pkl", "p256", "test", tmp_path_factory.mktemp("p256"))


@pytest.fixture(scope="module")
def sg64(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return import_weights(DATA / "sg2_64-snapshot.pkl", "s64", "test", tmp_path_factory.mktemp("s64"))


async def store_photos(tmp_path: Path, side: int, pack: str, count: int = 2) -> None:
    """Held-out photos stored at `side` px, as `figment photos import --size side` stores them."""
    figment = await Figment.open(make_settings(tmp_path), DirectSource(DrawnFaceModel()))
    folder = figment.settings.data_dir / "photos" / pack
    folder.mkdir(parents=True, exist_ok=True)
    async with figment.db.transaction() as session:
        for index in range(count):
            path = folder / f"{index}.png"
            Image.new("RGB", (side, side), (60 * index, 90, 160)).save(path)
            session.add(RealPhoto(pack=pack, source_path=str(path), content_hash=f"{pack}-{index}",
                                  stored_path=str(path.relative_to(figment.settings.data_dir)), split="heldout"))
    await figment.close()


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(int)


def test_a_large_source_is_brought_down_like_a_real_photo(paper256: Path) -> None:
    """The quiz pipeline takes a 1024 px face the way it takes a 256 px photo of it: the same
    pixels within a few levels (Lanczos widens its kernel when shrinking, so no aliasing)."""
    face = load_face_model(paper256, "cpu").generate([3], 0.7)[0]
    big = face.resize((1024, 1024), Image.Resampling.LANCZOS)
    photo = big.resize((256, 256), Image.Resampling.LANCZOS)
    a = np.asarray(to_quiz_pixels(big, 512)).astype(int)
    b = np.asarray(to_quiz_pixels(photo, 512)).astype(int)
    assert np.abs(a - b).max() <= 4 and np.abs(a - b).mean() < 0.5
    assert len(quiz_image(big, 512).data) == len(quiz_image(photo, 512).data)  # one byte length


def test_settle_rules() -> None:
    assert settle(256, 256, {"a": 256, "b": 1024}) == (256, [])
    detail, why = settle(256, 1024, {"a": 256, "b": 128})
    assert detail == 128 and "'b' is stored at 128 px" in why[0] and "--size 256" in why[0]
    detail, why = settle(512, 256, {"a": 1024})
    assert detail == 256 and why == ["the generator makes 256 px faces"]
    assert settle(QUIZ_DETAIL, 64, {})[0] == QUIZ_DETAIL  # never below the built-in level
    assert settle(256, None, {})[0] == 256  # a shared generator: the operator's word
    assert settle(512, 1024, {}, posted_size=256) == (256, ["images are posted at 256 px (FIGMENT_POSTED_SIZE)"])
    assert settle(QUIZ_DETAIL, 64, {}, posted_size=64)[0] == QUIZ_DETAIL  # as before the setting


async def test_a_raised_detail_shows_the_imported_face_at_256(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              paper256: Path) -> None:
    await store_photos(tmp_path, 256, "big")
    async with imported_core(tmp_path, monkeypatch, paper256, quiz_detail=256) as figment:
        assert figment.settings.quiz_detail == 256
        images = RoundImages(figment.db, figment.source, figment.settings)
        await images.fill()
        fake, real = images.take(False), images.take(True)
        assert real.is_real and not fake.is_real
        assert len(fake.posted.data) == len(real.posted.data)
        face = (await figment.source.face(fake.face.seed, fake.face.psi)).image
    assert face.size == (256, 256)
    at_256 = pixels(quiz_image(face, 512, 256).data)
    assert np.abs(pixels(fake.posted.data) - at_256).max() <= 2
    assert np.abs(pixels(quiz_image(face, 512, 128).data) - at_256).max() > 10  # the detail shows


async def test_packs_stored_smaller_lower_the_detail_with_a_warning(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, paper256: Path, caplog: pytest.LogCaptureFixture) -> None:
    await store_photos(tmp_path, 256, "big")
    await store_photos(tmp_path, 128, "small")
    with caplog.at_level(logging.WARNING, "bot.quiz.detail"):
        async with imported_core(tmp_path, monkeypatch, paper256, quiz_detail=256) as figment:
            assert figment.settings.quiz_detail == 128
            assert figment.quiz.settings.quiz_detail == 128  # every service sees the settled level
    [record] = [r for r in caplog.records if r.name == "bot.quiz.detail"]
    assert "FIGMENT_QUIZ_DETAIL=256" in record.getMessage() and "'small' is stored at 128 px" in record.getMessage()
    # only the quiz's own packs count
    async with imported_core(tmp_path, monkeypatch, paper256, quiz_detail=256, photo_packs=["big"]) as figment:
        assert figment.settings.quiz_detail == 256


async def test_fool_rate_and_hall_are_kept_per_model_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             sg64: Path) -> None:
    own = await Figment.open(make_settings(tmp_path, hall_min_answers=1), DirectSource(DrawnFaceModel()))
    await face_round(own, 5, fooled=3, answers=4)
    await own.close()
    async with imported_core(tmp_path, monkeypatch, sg64, hall_min_answers=1) as figment:
        version = figment.source.model_version
        assert version.startswith("s64-64px-") and version != DrawnFaceModel.model_version
        await face_round(figment, 5, fooled=1, answers=4)
        stats = await figment.boards.stats_text(ChatRef("test", "c", "c"), PlayerRef("test", "p0", "Player 0"))
        current = await figment.hall.current_faces()
    lines = [line for line in stats.splitlines() if line.startswith("model ")]
    assert len(lines) == 2
    assert any(line.startswith(f"model {DrawnFaceModel.model_version}, psi 0.7: 75%") for line in lines)
    assert any(line.startswith(f"model {version}, psi 0.7: 25%") for line in lines)
    assert [row.model_version for row in current] == [version]  # the hall shows the served model's faces
