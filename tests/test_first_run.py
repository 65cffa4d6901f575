"""First run: with an empty photo store, the playground imports a seeded sample of the folder
FIGMENT_STARTER_PHOTOS names, in the background, says so on the page, and the quiz plays.
Photos are read from ../shared/faces and stored in the test's own data folder only."""
from __future__ import annotations

from pathlib import Path
from typing import AsyncIterator

import pytest
from sqlalchemy import select

from bot import texts
from bot.app import Figment
from bot.ops.starter_photos import STARTER_PACK, StarterPhotos, State, sample_files
from db.models import RealPhoto
from generator.serving.direct import DirectSource
from tests.conftest import SHARED_FACES, add_real_photos, make_settings
from tests.fakes import DrawnFaceModel
from tests.photo_samples import needs_faces
from tests.test_browser import CHROMIUM, Tab, browser, playwright_api, served, wait_text  # noqa: F401

SAMPLE = 8


async def serving(app: Figment, starter: StarterPhotos) -> AsyncIterator[str]:
    async with served(app, stop_seconds=20, starter=starter) as address:
        yield address


@needs_faces
def test_the_sample_is_seeded_and_of_the_asked_size() -> None:
    first = sample_files(SHARED_FACES, 20)
    assert first == sample_files(SHARED_FACES, 20) and len(set(first)) == 20
    assert all(SHARED_FACES in path.parents for path in first)
    assert len({path.parent.name for path in first}) > 3  # drawn from the whole folder, not its first files


@needs_faces
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")
async def test_first_run_imports_a_sample_in_the_background_and_the_quiz_plays(tmp_path: Path, browser) -> None:  # noqa: F811
    settings = make_settings(tmp_path, starter_photos=SHARED_FACES, starter_sample=SAMPLE, round_seconds=30)
    app = await Figment.open(settings, DirectSource(DrawnFaceModel()))
    starter = StarterPhotos(settings, app.db)
    try:
        async for url in serving(app, starter):
            context = await browser.new_context()
            tab = await Tab.open(context, url, "Ada")
            status = tab.page.locator(".msg.kind-bot .text", has_text="importing a sample").or_(
                tab.page.locator(".msg.kind-bot .text", has_text="Photos ready"))
            await wait_text(status, str(SHARED_FACES))  # the page says what it is doing
            await playwright_api.expect(tab.page.locator(".msg.kind-bot .text", has_text="Photos ready")
                                        ).to_have_count(1, timeout=120_000)
            await tab.say("/quiz 1")
            round_message = tab.page.locator(".msg.kind-round").last
            await round_message.locator("button.answer").first.wait_for()
            await round_message.locator("button.answer[data-guess=real]").click()
            await wait_text(round_message.locator(".text"), "of 1 got it right")  # one player: closes at once
            await tab.shot("first-run")
            assert tab.problems == []
            await context.close()
    finally:
        await starter.aclose()
        await app.close()
    assert starter.state is State.READY and 0 < starter.imported <= SAMPLE
    again = await Figment.open(settings, DirectSource(DrawnFaceModel()))
    try:
        async with again.db.transaction() as session:
            photos = (await session.execute(select(RealPhoto))).scalars().all()
        assert {p.pack for p in photos} == {STARTER_PACK} and all(p.split == "heldout" for p in photos)
        assert all((settings.data_dir / p.stored_path).is_file() for p in photos)  # in the data folder
        # a second start resumes the same sample: nothing left to import, nothing added
        second = StarterPhotos(settings, again.db)
        await second.start()
        await second.wait()
        assert second.state is State.READY and second.imported == len(photos) == starter.imported
        assert second.total == 0  # every sampled file was seen by the first run
    finally:
        await again.close()


async def test_without_a_folder_the_page_says_how_to_import(tmp_path: Path) -> None:
    app = await Figment.open(make_settings(tmp_path), DirectSource(DrawnFaceModel()))
    starter = StarterPhotos(app.settings, app.db)
    try:
        await starter.start()
        assert starter.state is State.NO_FOLDER
        assert "figment photos import" in starter.text() and "FIGMENT_STARTER_PHOTOS" in starter.text()
        in_russian = starter.text(texts.lang("ru"))  # each playground tab reads it in its own language
        assert in_russian != starter.text() and "figment photos import" in in_russian
        missing = StarterPhotos(make_settings(tmp_path, starter_photos=tmp_path / "nowhere"), app.db)
        await missing.start()
        assert missing.state is State.MISSING and "nowhere, which is not here" in missing.text()
        await add_real_photos(app)
        filled = StarterPhotos(make_settings(tmp_path, starter_photos=tmp_path), app.db)
        await filled.start()
        assert filled.state is State.NOT_NEEDED and filled.text() == ""  # photos there: nothing to do
    finally:
        await app.close()


def test_an_empty_setting_means_no_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIGMENT_STARTER_PHOTOS", "")
    assert make_settings(tmp_path).starter_photos is None
    assert texts.starter_no_folder().startswith("No real photos")
