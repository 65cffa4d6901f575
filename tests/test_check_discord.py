"""/check on Discord, end to end: the real discord.py client against the local fake."""
from __future__ import annotations

import io
import re
from pathlib import Path
from typing import AsyncIterator

import pytest
from PIL import Image

from bot import texts
from bot.app import Figment
from generator.serving.direct import DirectSource
from tests.conftest import make_settings
from tests.discord_fake import FakeDiscord
from tests.discord_fake.harness import World, ephemeral_text, fake, make_world, running_bot  # noqa: F401 (fake: a fixture)
from tests.fakes import DrawnFaceModel
from tests.test_provenance import real_photos


@pytest.fixture
async def figment(tmp_path: Path) -> AsyncIterator[Figment]:
    app = await Figment.open(make_settings(tmp_path, posted_size=512), DirectSource(DrawnFaceModel(resolution=256)))
    yield app
    await app.close()


async def test_check_marked_face_real_photo_and_bad_files(fake: FakeDiscord, figment: Figment) -> None:
    world: World = make_world(fake, ["Carol"])
    carol = world.members[0]
    async with running_bot(fake, figment):
        card = await fake.reply(await fake.slash("face", carol, world.general, seed=42, psi=0.7))
        face_png = fake.file_bytes(card["attachments"][0])
        # What a user might re-post: the face saved as a JPEG.
        buffer = io.BytesIO()
        Image.open(io.BytesIO(face_png)).convert("RGB").save(buffer, "JPEG", quality=80)
        checked = await fake.slash("check", carol, world.general,
                                   image=fake.add_attachment(buffer.getvalue(), "face.jpg", "image/jpeg"))
        assert "Made by Figment, model test-drawn-1" in (await fake.reply(checked))["content"]
        # Someone else posted it: Apps > Check with Figment on their message.
        posted = fake.user_message(world.general, carol, [fake.add_attachment(face_png, "face.png")])
        checked = await fake.message_command("Check with Figment", carol, posted)
        assert "Made by Figment, model test-drawn-1" in (await fake.reply(checked))["content"]
        plain = fake.user_message(world.general, carol, [])
        interaction = await fake.message_command("Check with Figment", carol, plain)
        assert await ephemeral_text(fake, interaction) == texts.CHECK_HOW_DISCORD

        photo = fake.add_attachment(real_photos(1)[0].read_bytes(), "photo.jpg", "image/jpeg")
        checked = await fake.slash("check", carol, world.general, image=photo)
        assert "No Figment mark found" in (await fake.reply(checked))["content"]

        checked = await fake.slash("check", carol, world.general,
                                   image=fake.add_attachment(b"%PDF-1.4 not an image", "doc.png"))
        assert (await fake.reply(checked))["content"] == texts.CHECK_NOT_IMAGE
        truncated = fake.add_attachment(face_png[:2000], "cut.png")
        assert (await fake.reply(await fake.slash("check", carol, world.general, image=truncated)))["content"] \
            == texts.CHECK_BROKEN
        huge = fake.add_attachment(b"", "huge.png", size=25 * 1024 * 1024)  # announced size only
        interaction = await fake.slash("check", carol, world.general, image=huge)
        assert "too big" in await ephemeral_text(fake, interaction)
    assert not fake.breaches


async def test_check_is_rate_limited_per_user(fake: FakeDiscord, tmp_path: Path) -> None:
    """FIGMENT_CHECK_PER_MINUTE: past it the public "thinking" goes and the asker alone hears when
    to come back."""
    app = await Figment.open(make_settings(tmp_path / "limited", posted_size=512, check_per_minute=2),
                             DirectSource(DrawnFaceModel(resolution=256)))
    world: World = make_world(fake, ["Carol", "Dave"])
    carol, dave = world.members
    photo = real_photos(1)[0].read_bytes()
    try:
        async with running_bot(fake, app):
            for _ in range(2):
                checked = await fake.slash("check", carol, world.general,
                                           image=fake.add_attachment(photo, "photo.jpg", "image/jpeg"))
                assert "No Figment mark found" in (await fake.reply(checked))["content"]
            refused = await fake.slash("check", carol, world.general,
                                       image=fake.add_attachment(photo, "photo.jpg", "image/jpeg"))
            await fake.wait_for(lambda: refused.original_id is not None
                                and fake.messages[refused.original_id].get("deleted"),
                                what="the public 'thinking' message deleted")
            [followup_id] = await fake.wait_for(lambda: refused.followup_ids or None, what="a private follow-up")
            followup = fake.messages[followup_id]
            assert int(followup["flags"]) & 64
            assert re.fullmatch(r"Easy there! You can ask again in \d+ s\.", followup["content"])
            checked = await fake.slash("check", dave, world.general,  # someone else still may
                                       image=fake.add_attachment(photo, "photo.jpg", "image/jpeg"))
            assert "No Figment mark found" in (await fake.reply(checked))["content"]
    finally:
        await app.close()
    assert not fake.breaches
