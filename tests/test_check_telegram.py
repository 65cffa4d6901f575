"""/check on Telegram, end to end: the real PTB client downloads the image from the fake Bot API."""
from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
from PIL import Image

from bot import texts
from bot.app import Figment
from bot.settings import Settings
from generator.serving.direct import DirectSource
from tests.conftest import make_settings
from tests.fakes import DrawnFaceModel
from tests.telegram_fake import FakeBotApi
from tests.telegram_fake.harness import RunningBot, replies, start_bot
from tests.test_provenance import real_photos

GROUP = -1001234567891


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        yield server


@pytest.fixture
async def bot(api: FakeBotApi, tmp_path: Path) -> AsyncIterator[RunningBot]:
    settings: Settings = make_settings(tmp_path, posted_size=512)
    figment = await Figment.open(settings, DirectSource(DrawnFaceModel(resolution=256)))
    running = await start_bot(api, settings, figment)
    yield running
    await running.close()


def _with_caption(api: FakeBotApi, chat: dict[str, Any], user: dict[str, Any], data: bytes, *,
                  as_photo: bool, caption: str = "/check") -> None:
    file_id = api.add_file(data)
    attachment: dict[str, Any] = (
        {"photo": [{"file_id": file_id, "file_unique_id": "u" + file_id, "width": 512, "height": 512,
                    "file_size": len(data)}]} if as_photo else
        {"document": {"file_id": file_id, "file_unique_id": "u" + file_id, "file_name": "x.png",
                      "file_size": len(data)}})
    message = api._new_message(chat["id"], sender=user, caption=caption, **attachment,
                               caption_entities=[{"type": "bot_command", "offset": 0, "length": 6}])
    api.push_update({"message": message})


async def test_check_a_face_reply_and_attachments(api: FakeBotApi, bot: RunningBot) -> None:
    user = api.user(5, "Alice")
    chat = api.group(GROUP, "Checkers", members=3)
    api.command(chat, user, "/face 42 0.7")
    [face_post] = await api.wait_calls("sendPhoto")
    face_message = face_post.result
    # A reply to the bot's own /face photo: Telegram's copy is a re-encoded JPEG, the watermark stays.
    reply = api._new_message(chat["id"], sender=user, text="/check", reply_to_message=face_message,
                             entities=[{"type": "bot_command", "offset": 0, "length": 6}])
    api.push_update({"message": reply})
    [answer] = await replies(api, chat["id"])
    assert "Made by Figment, model test-drawn-1 (from the invisible watermark)" in answer

    # The original PNG as a file keeps its Content Credentials too (none configured here: watermark).
    _with_caption(api, chat, user, face_post.files["photo"].data, as_photo=False)
    answer = (await replies(api, chat["id"], 2))[1]
    assert "Made by Figment, model test-drawn-1" in answer

    photo = real_photos(1)[0].read_bytes()
    _with_caption(api, chat, user, photo, as_photo=True)
    assert "No Figment mark found" in (await replies(api, chat["id"], 3))[2]
    assert not api.breaches


async def test_check_bad_input_gets_clear_replies(api: FakeBotApi, bot: RunningBot) -> None:
    user = api.user(6, "Bob")
    chat = api.private(user)
    api.command(chat, user, "/check")
    assert await replies(api, chat["id"]) == [texts.CHECK_HOW]

    buffer = io.BytesIO()
    Image.new("RGB", (512, 512), "tan").save(buffer, "JPEG")
    bomb = io.BytesIO()
    Image.new("1", (9000, 9000)).save(bomb, "PNG")
    for n, (data, expected) in enumerate([(b"hello, not an image", texts.CHECK_NOT_IMAGE),
                                          (buffer.getvalue()[:400], texts.CHECK_BROKEN),
                                          (bomb.getvalue(), "too large")], start=2):
        _with_caption(api, chat, user, data, as_photo=False)
        assert expected in (await replies(api, chat["id"], n))[-1]

    # Over the 20 MB a bot may download: answered from the announced size, no getFile.
    huge = api._new_message(chat["id"], sender=user, caption="/check",
                            caption_entities=[{"type": "bot_command", "offset": 0, "length": 6}],
                            document={"file_id": "big", "file_unique_id": "ubig", "file_size": 30 * 1024 * 1024})
    api.push_update({"message": huge})
    assert "too big" in (await replies(api, chat["id"], 5))[-1]
    assert "big" not in [call.params["file_id"] for call in api.calls_to("getFile", succeeded=False)]
    assert not api.breaches


async def test_check_is_rate_limited_per_user(api: FakeBotApi, tmp_path: Path) -> None:
    """FIGMENT_CHECK_PER_MINUTE: past it the user is told when to come back, and nothing is downloaded."""
    settings = make_settings(tmp_path / "limited", posted_size=512, check_per_minute=2)
    figment = await Figment.open(settings, DirectSource(DrawnFaceModel(resolution=256)))
    running = await start_bot(api, settings, figment)
    try:
        user, other = api.user(8, "Cleo"), api.user(9, "Dan")
        chat = api.group(GROUP, "Checkers", members=3)
        photo = real_photos(1)[0].read_bytes()
        for n in range(1, 3):
            _with_caption(api, chat, user, photo, as_photo=True)
            assert "No Figment mark found" in (await replies(api, chat["id"], n))[-1]
        downloads = len(api.calls_to("getFile", succeeded=False))
        _with_caption(api, chat, user, photo, as_photo=True)
        assert re.fullmatch(r"Easy there! You can ask again in \d+ s\.", (await replies(api, chat["id"], 3))[-1])
        assert len(api.calls_to("getFile", succeeded=False)) == downloads
        _with_caption(api, chat, other, photo, as_photo=True)  # someone else still may
        assert "No Figment mark found" in (await replies(api, chat["id"], 4))[-1]
        assert not api.breaches
    finally:
        await running.close()
