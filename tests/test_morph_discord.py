"""/morph on the fake Discord with the real discord.py client: the GIF within the upload limit the
interaction reports, the MP4 when the GIF would be over it, and bad input answered privately."""
from __future__ import annotations

import io
from pathlib import Path
from typing import AsyncIterator

import pytest
from PIL import Image

from bot import texts
from bot.app import Figment
from generator.loading import load_face_model
from generator.serving.direct import DirectSource
from tests.conftest import make_settings
from tests.discord_fake import FakeDiscord
from tests.discord_fake.harness import World, ephemeral_text, fake, make_world, running_bot  # noqa: F401 (fake: a fixture)

FRAMES = 24


@pytest.fixture
def world(fake: FakeDiscord) -> World:
    return make_world(fake, ["Ann", "Bo", "Cy"])


@pytest.fixture
async def figment(tmp_path: Path) -> AsyncIterator[Figment]:
    app = await Figment.open(make_settings(tmp_path, morph_frames=FRAMES, morph_per_minute=1000),
                             DirectSource(load_face_model(device="cpu")))
    yield app
    await app.close()


async def test_discord_morph_is_a_gif_within_the_upload_limit(fake: FakeDiscord, world: World,
                                                              figment: Figment) -> None:
    ann = world.members[0]
    async with running_bot(fake, figment):
        message = await fake.reply(await fake.slash("morph", ann, world.general, a=42, b=7), timeout=120)
        [attachment] = message["attachments"]
        assert attachment["filename"].endswith(".gif") and attachment["size"] <= fake.upload_bytes
        assert message["content"].startswith(texts.AI_NOTICE) and not int(message["flags"]) & 64
        gif = Image.open(io.BytesIO(fake.file_bytes(attachment)))
        assert gif.format == "GIF" and gif.n_frames == FRAMES and gif.size == (256, 256)
        # a guild whose limit the GIF would pass gets the MP4 (same morph: from the cache)
        fake.upload_bytes = len(fake.file_bytes(attachment)) - 1
        smaller = await fake.reply(await fake.slash("morph", ann, world.general, a=42, b=7), timeout=120)
        [video] = smaller["attachments"]
        assert video["filename"].endswith(".mp4") and video["size"] <= fake.upload_bytes
    assert not fake.breaches


async def test_discord_morph_bad_input_is_answered_privately(fake: FakeDiscord, world: World,
                                                            figment: Figment) -> None:
    bo = world.members[1]
    async with running_bot(fake, figment):
        async def answer(**options: object) -> str:
            return await ephemeral_text(fake, await fake.slash("morph", bo, world.general, **options))

        assert await answer(a=3, b=3) == texts.MORPH_SAME
        assert await answer(a=-1, b=3) == texts.MORPH_BAD_SEED  # a hand-made request skips the client's range
        assert await answer(a=1, b=2**32) == texts.MORPH_BAD_SEED
        assert await answer(a=1, b=2, psi=9.0) == texts.BAD_PSI
    assert not fake.breaches
