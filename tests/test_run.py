"""`figment run` as operators start it: settings in, the shipped generator, a real front-end."""
from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
from PIL import Image

from bot.ops.runner import NothingToRun, run_bots
from generator.model.checkpoint import read_export
from generator.loading import DEFAULT_WEIGHTS
from tests.conftest import make_settings
from tests.telegram_fake import FakeBotApi


async def test_run_serves_telegram_with_the_shipped_generator(tmp_path: Path) -> None:
    async with FakeBotApi() as api:
        settings = make_settings(tmp_path, telegram_token=api.token, telegram_api_url=api.base_url, device="cpu")
        stop = asyncio.Event()
        task = asyncio.create_task(run_bots(settings, stop))
        try:
            await api.wait_calls("setMyCommands", timeout=120)
            user = api.user(5, "Alice")
            api.command(api.private(user), user, "/face 42")
            [photo] = await api.wait_calls("sendPhoto", timeout=120)
        finally:
            stop.set()
            await asyncio.wait_for(task, 60)
    image = Image.open(io.BytesIO(photo.files["photo"].data))
    assert image.size == (settings.posted_size, settings.posted_size)
    assert "seed 42" in photo.params["caption"]
    assert read_export(DEFAULT_WEIGHTS)[2] in photo.params["caption"]  # the shipped model made it
    assert (tmp_path / "data" / "figment.db").exists()  # the database was upgraded on start


async def test_run_without_tokens_explains_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(NothingToRun, match="FIGMENT_TELEGRAM_TOKEN.*figment demo"):
        await run_bots(make_settings(tmp_path))
