"""/morph end to end: the real PTB client against the fake Bot API (sendAnimation within its
limits), the morph service's rules (one per user at a time, cache, rate limit), the strict fake's
sendAnimation checks. The generator is the shipped one, on the CPU: morphs need its W space."""
from __future__ import annotations

import asyncio
import io
from typing import AsyncIterator

import aiohttp
import av
import numpy as np
import pytest
from PIL import Image

from bot import texts
from bot.edits.animation import mp4_frames
from bot.app import Figment
from bot.errors import UserError
from bot.edits.morphs import MorphService
from bot.provenance import watermark
from bot.refs import PlayerRef
from bot.settings import Settings
from generator.loading import load_face_model
from generator.serving.direct import DirectSource
from tests.conftest import make_settings
from tests.fakes import DrawnFaceModel
from tests.telegram_fake import FakeBotApi
from tests.telegram_fake.harness import RunningBot, replies, start_bot
from tests.telegram_fake.limits import ANIMATION_BYTES, FloodControl

FRAMES = 24


@pytest.fixture(scope="module")
def model():  # type: ignore[no-untyped-def]
    return load_face_model(device="cpu")


def morph_settings(tmp_path, **overrides: object) -> Settings:  # type: ignore[no-untyped-def]
    return make_settings(tmp_path, morph_frames=FRAMES, morph_per_minute=1000, **overrides)


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(flood=FloodControl(chat_rate=1000, chat_burst=1000)) as server:
        yield server


@pytest.fixture
async def bot(api: FakeBotApi, tmp_path, model) -> AsyncIterator[RunningBot]:  # type: ignore[no-untyped-def]
    settings = morph_settings(tmp_path)
    running = await start_bot(api, settings, await Figment.open(settings, DirectSource(model)))
    yield running
    await running.close()


async def test_telegram_morph_is_an_h264_animation_within_the_limits(api: FakeBotApi, bot: RunningBot) -> None:
    user = api.user(11, "Ann")
    chat = api.private(user)
    api.command(chat, user, "/morph 42 7")
    [call] = await api.wait_calls("sendAnimation", 1, timeout=120)
    assert api.breaches == {}  # the fake checks size (50 MB), caption, H.264 without sound
    caption = call.params["caption"]
    assert caption.startswith(texts.AI_NOTICE) and "seed 42 to seed 7" in caption
    data = call.files["animation"].data
    assert len(data) < ANIMATION_BYTES
    frames = mp4_frames(data)
    assert len(frames) == FRAMES and frames[0].size == (256, 256)
    with av.open(io.BytesIO(data)) as container:
        assert not container.streams.audio and container.streams.video[0].codec_context.name == "h264"
        assert texts.AI_NOTICE in container.metadata.get("comment", "")
    # the first frame is seed 42, the middle one seed 7 (as /face draws them), the loop comes back
    face_a, face_b = (np.asarray(bot.figment.source.model.generate([seed], 0.7)[0].resize((256, 256)), float)
                      for seed in (42, 7))
    first, middle = (np.asarray(frames[i], float) for i in (0, FRAMES // 2))
    assert np.abs(first - face_a).mean() < np.abs(first - face_b).mean()
    assert np.abs(middle - face_b).mean() < np.abs(middle - face_a).mean()


async def test_telegram_morph_bad_input_and_a_second_morph_get_clear_replies(api: FakeBotApi,
                                                                              bot: RunningBot) -> None:
    user = api.user(12, "Bo")
    chat = api.private(user)
    cases = [("/morph", texts.MORPH_USAGE), ("/morph 5", texts.MORPH_USAGE), ("/morph 5 5", texts.MORPH_SAME),
             ("/morph five 6", texts.MORPH_BAD_SEED), ("/morph 1 4294967296", texts.MORPH_BAD_SEED),
             ("/morph -1 3", texts.MORPH_BAD_SEED), ("/morph 1 2 9", texts.BAD_PSI)]
    for number, (command, expected) in enumerate(cases, 1):
        api.command(chat, user, command)
        assert (await replies(api, chat["id"], number, timeout=30))[-1] == expected
    since = api.last_seq
    api.command(chat, user, "/morph 100 200")
    await api.wait_calls("sendChatAction", 1, since=since, timeout=30)  # the first one is being made
    api.command(chat, user, "/morph 300 400")
    assert (await replies(api, chat["id"], len(cases) + 1, timeout=60))[-1] == texts.MORPH_RUNNING
    await api.wait_calls("sendAnimation", 1, timeout=120)
    assert len(api.calls_to("sendAnimation")) == 1  # the refused one made nothing
    assert api.breaches == {}


async def test_morph_service_caches_by_seeds_and_limits_the_rate(tmp_path, model) -> None:  # type: ignore[no-untyped-def]
    service = MorphService(DirectSource(model), frames=FRAMES, per_minute=2)
    ann = PlayerRef("telegram", "1", "Ann")
    first = await service.morph(ann, 3, 4)
    again = await service.morph(ann, "3", "4")
    assert again is first  # from the cache, not made twice
    with pytest.raises(UserError) as refused:
        await service.morph(ann, 5, 6)
    assert "slow down" in refused.value.message.lower() or "again in" in refused.value.message.lower()
    # every frame carries the watermark, in the GIF and in the MP4 (full-range H.264 at a quality it survives)
    gif = Image.open(io.BytesIO(first.gif.data))
    for index in (0, FRAMES // 3, FRAMES - 1):
        gif.seek(index)
        assert watermark.read(gif.convert("RGB"), posted_size=256).found
    video = mp4_frames(first.mp4.data)
    assert len(video) == FRAMES
    assert sum(watermark.read(frame, posted_size=256).found for frame in video) >= FRAMES - 1


async def test_one_morph_per_user_across_processes_on_one_database(tmp_path, model) -> None:  # type: ignore[no-untyped-def]
    """Two bot processes share one database (here: two connections to one SQLite file, as two
    processes have): while one makes Ann's morph, the other refuses hers with the clear reply, then
    makes it once the first is done; Bob is never held up by Ann."""
    from bot.ratelimits import SharedBusy
    from tests.test_face_bank import open_db, sqlite_url

    url = sqlite_url(tmp_path / "figment.db")
    first_db, second_db = await open_db(url), await open_db(url)
    try:
        first = MorphService(DirectSource(model), frames=FRAMES, db=first_db)
        second = MorphService(DirectSource(model), frames=FRAMES, db=second_db)
        ann, bob = PlayerRef("telegram", "1", "Ann"), PlayerRef("telegram", "2", "Bob")
        watch = SharedBusy(second_db, "morph-making")
        making = asyncio.create_task(first.morph(ann, 3, 4))
        for _ in range(600):  # until the first process has marked Ann busy
            if not await watch.take(("telegram", "1")):
                break
            await watch.release(("telegram", "1"))
            await asyncio.sleep(0.01)
        with pytest.raises(UserError) as refused:
            await second.morph(ann, 5, 6)
        assert refused.value.message == texts.MORPH_RUNNING
        assert (await second.morph(bob, 5, 6)).seed_a == 5
        await making
        assert (await second.morph(ann, 5, 6)).seed_b == 6  # free again once the first is done
    finally:
        await first_db.close()
        await second_db.close()


async def test_a_busy_mark_left_by_a_dead_process_lapses(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from bot.ratelimits import SharedBusy
    from tests.test_face_bank import open_db, sqlite_url

    db = await open_db(sqlite_url(tmp_path / "figment.db"))
    now = [1000.0]
    try:
        busy = SharedBusy(db, "morph-making", seconds=90, clock=lambda: now[0])
        assert await busy.take("ann") and not await busy.take("ann") and await busy.take("bob")
        now[0] += 89
        assert not await busy.take("ann")
        now[0] += 2  # the process that took it never released it: it lapses
        assert await busy.take("ann")
        with pytest.raises(ValueError):
            SharedBusy(db, "morph-making", seconds=500)
    finally:
        await db.close()


async def test_a_generator_without_w_says_morphs_are_unavailable() -> None:
    service = MorphService(DirectSource(DrawnFaceModel()), frames=FRAMES)
    with pytest.raises(UserError) as refused:
        await service.morph(PlayerRef("web", "1", "Ann"), 1, 2)
    assert refused.value.message == texts.EDITS_UNAVAILABLE


async def tg_upload(api: FakeBotApi, chat: int, data: bytes, name: str) -> int:
    form = aiohttp.FormData({"chat_id": str(chat)})
    form.add_field("animation", data, filename=name, content_type="video/mp4")
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{api.base_url}{api.token}/sendAnimation", data=form) as response:
            return response.status


def _video(codec: str, audio: bool) -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream(codec, rate=12)
        stream.width = stream.height = 64
        stream.pix_fmt = "yuv420p"
        sound = container.add_stream("aac", rate=44100) if audio else None
        for n in range(4):
            frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), n * 40, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
        if sound is not None:
            samples = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            samples.sample_rate = 44100
            for packet in list(sound.encode(samples)) + list(sound.encode()):
                container.mux(packet)
    return buffer.getvalue()


async def test_telegram_fake_send_animation_keeps_the_documented_limits(api: FakeBotApi) -> None:
    chat = api.private(api.user(1, "Ann"))["id"]
    assert await tg_upload(api, chat, _video("libx264", audio=False), "ok.mp4") == 200
    assert await tg_upload(api, chat, _video("mpeg4", audio=False), "not-h264.mp4") == 400
    assert await tg_upload(api, chat, _video("libx264", audio=True), "sound.mp4") == 400
    assert await tg_upload(api, chat, b"\0" * (ANIMATION_BYTES + 1), "big.mp4") == 400
    assert api.breaches == {"animation format": 2, "animation size": 1}
