"""/check costs little whatever is sent: the reader works on a bounded size, one check runs at a
time per process in a worker killed at its time limit, every bad input gets a friendly reply,
and the per-user limit holds across processes (the database keeps it)."""
from __future__ import annotations

import asyncio
import io
import math
import os
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pytest
from PIL import Image

from bot import texts
from bot.app import Figment
from bot.errors import UserError
from bot.provenance import watermark
from bot.provenance.bench_check import rle8_bmp
from bot.provenance.check import MAX_BYTES, MAX_PIXELS, CheckService, check_image, reply_for
from generator.serving.direct import DirectSource
from tests.conftest import make_settings
from tests.fakes import DrawnFaceModel

SIDE = math.isqrt(MAX_PIXELS)  # the largest square the pixel limit lets in


def _save(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _noise(side: int) -> Image.Image:
    return Image.fromarray(np.random.default_rng(3).integers(0, 256, (side, side, 3), dtype=np.uint8))


def marker_flood_jpeg(markers: int) -> bytes:
    """A valid small JPEG behind `markers` empty comment segments: tiny work per byte for libjpeg,
    but PIL walks the markers one by one in Python (about 2 s per million here)."""
    jpeg = _save(Image.new("RGB", (512, 512), "tan"), "JPEG")
    return jpeg[:2] + b"\xff\xfe\x00\x02" * markers + jpeg[2:]


@pytest.fixture(scope="module")
def huge_flat_jpeg() -> bytes:
    """The issue's image: 40 Mpx of one colour, 0.6 MB (it cost about a minute of CPU and 1.8 GB)."""
    return _save(Image.new("RGB", (SIDE, SIDE), (200, 170, 150)), "JPEG", quality=90)


def _cpu(work: Callable[[], object]) -> float:
    began = time.process_time()
    work()
    return time.process_time() - began


def test_the_worst_image_costs_about_what_a_posted_face_costs(huge_flat_jpeg: bytes) -> None:
    """CPU time as a ratio to an ordinary check (an unmarked 512 px photo, read in full), so a
    slow or busy machine does not matter: before, the 40 Mpx image cost over 100 times more."""
    ordinary = _save(_noise(512), "PNG")
    check_image(ordinary)  # warm caches and lazy imports
    baseline = min(_cpu(lambda: check_image(ordinary)) for _ in range(2))
    worst = _cpu(lambda: check_image(huge_flat_jpeg))
    assert worst < 4 * baseline, f"40 Mpx JPEG {worst:.2f} s CPU vs 512 px image {baseline:.2f} s"


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_the_reader_works_on_at_most_the_working_size(fmt: str) -> None:
    """Whatever the file's size, the watermark search gets at most two WINDOW-square views."""
    from bot.provenance.decoding import MAX_PIXELS_BY_FORMAT, decode

    side = math.isqrt(MAX_PIXELS_BY_FORMAT.get(fmt, MAX_PIXELS))
    size = (side, side)
    data = _save(Image.new("RGB", size, (90, 120, 30)), fmt, **({"lossless": True} if fmt == "WEBP" else {}))
    decoded = decode(data, 512)
    assert decoded.size == size
    assert 1 <= len(decoded.views) <= 2
    assert all(view.width <= watermark.WINDOW and view.height <= watermark.WINDOW for view in decoded.views)


def test_a_resized_or_screen_scaled_face_is_still_found() -> None:
    """Shrinking before reading keeps what is recognised today: a face upscaled 2x, 3x or 8x
    (a screenshot on a high-density screen) and re-encoded, at its own scale inside a border."""
    face = watermark.embed(Image.fromarray(np.asarray(_noise(512)) // 4 + 96), "v-limits")
    ident = watermark.model_id("v-limits")
    for factor, fmt in [(2, "PNG"), (3, "JPEG"), (8, "JPEG"), (0.9, "JPEG")]:
        scaled = face.resize((round(512 * factor),) * 2, Image.Resampling.BICUBIC)
        result = check_image(_save(scaled, fmt, **({"quality": 90} if fmt == "JPEG" else {})))
        assert result.mark.found and result.mark.model_id == ident, f"{factor}x {fmt}"
    framed = Image.new("RGB", (700, 600), "white")
    framed.paste(face, (94, 44))
    assert check_image(_save(framed, "PNG")).mark.model_id == ident


def _bomb_png() -> bytes:
    return _save(Image.new("1", (9000, 9000)), "PNG")  # 81 Mpx in about 10 kB


def _big_progressive_jpeg() -> bytes:
    data = _save(_noise(3600), "JPEG", quality=95, progressive=True)
    assert 10 * 1024 * 1024 < len(data) <= MAX_BYTES
    return data


def _giant_bomb_png() -> bytes:
    return _save(Image.new("1", (20000, 10000)), "PNG")  # 200 Mpx: PIL's own bomb guard too


@pytest.mark.parametrize("make, reply", [
    (lambda: b"%PDF-1.4 not an image", texts.CHECK_NOT_IMAGE),
    (lambda: b"", texts.CHECK_EMPTY),
    (lambda: _save(_noise(600), "PNG")[:5000], texts.CHECK_BROKEN),
    (lambda: _save(_noise(600), "JPEG")[:3000], texts.CHECK_BROKEN),
    (lambda: b"\0" * (MAX_BYTES + 1), texts.check_too_big(MAX_BYTES)),
    (lambda: _save(Image.new("RGB", (SIDE + 1, SIDE + 1)), "PNG"), texts.check_too_many_pixels(SIDE + 1, SIDE + 1)),
    (_bomb_png, texts.check_too_many_pixels(9000, 9000)),
    (_giant_bomb_png, texts.CHECK_BOMB),
    (lambda: _save(Image.new("RGB", (300, 300)), "PPM"), texts.CHECK_NOT_IMAGE),  # not one of our six formats
    (lambda: _save(Image.new("RGB", (4000, 3100)), "WEBP", lossless=True), texts.check_too_many_pixels(4000, 3100)),
    (_big_progressive_jpeg, texts.check_too_big(10 * 1024 * 1024, "a progressive JPEG")),
])
async def test_bad_input_gets_a_friendly_reply(make: Callable[[], bytes], reply: str) -> None:
    assert await reply_for(make(), posted_size=512) == reply


@pytest.mark.parametrize("make, reply", [
    (lambda: b"\0" * (MAX_BYTES + 1), lambda t: t.check_too_big(MAX_BYTES)),
    (_bomb_png, lambda t: t.check_too_many_pixels(9000, 9000)),
    (_big_progressive_jpeg, lambda t: t.check_too_big(10 * 1024 * 1024, texts.PROGRESSIVE_JPEG)),
])
async def test_a_refusal_with_numbers_comes_back_from_the_worker_in_the_readers_language(make, reply) -> None:  # type: ignore[no-untyped-def]
    """The refusal is made in the worker process, where nobody knows the reader: it travels as a
    later() text and is said in Spanish at the front-end, the kind of file included."""
    spanish = texts.lang("es")
    said = await reply_for(make(), posted_size=512, lang="es")
    assert said == reply(spanish) and said != reply(texts.EN)
    assert "progressive" not in said


@pytest.fixture
def slow_worker() -> Iterator["object"]:
    from bot.provenance.worker import CheckWorker

    worker = CheckWorker(limit_s=1.0)
    yield worker
    worker.stop()


@pytest.mark.parametrize("make", [lambda: marker_flood_jpeg(3_000_000), lambda: rle8_bmp(3000, 3000)],
                         ids=["jpeg-marker-flood", "bmp-run-length"])
async def test_a_check_over_the_time_limit_is_stopped_and_frees_the_slot(slow_worker, make) -> None:  # type: ignore[no-untyped-def]
    """Files that are slow to parse, in code no deadline can interrupt from inside: the worker
    process is killed at the limit, the user hears so, and the next check runs normally."""
    from bot.provenance.gate import CheckGate

    gate = CheckGate()
    slow = make()
    assert len(slow) <= MAX_BYTES
    await reply_for(_save(_noise(256), "PNG"), posted_size=512, gate=gate, worker=slow_worker)  # worker started
    first = slow_worker.pid
    assert await reply_for(slow, posted_size=512, gate=gate, worker=slow_worker) == texts.CHECK_TIMEOUT
    assert not gate.busy
    with pytest.raises(ProcessLookupError):  # the overrunning worker is gone, not left computing
        os.kill(first, 0)
    face = watermark.embed(Image.fromarray(np.asarray(_noise(512)) // 4 + 96), "v-limits")
    after = await reply_for(_save(face, "PNG"), posted_size=512, known_versions=["v-limits"], gate=gate,
                            worker=slow_worker)
    assert "Made by Figment, model v-limits" in after and slow_worker.pid != first


async def test_one_check_at_a_time_and_a_brief_wait() -> None:
    from bot.provenance.gate import CheckGate

    gate = CheckGate(wait_s=10.0)
    running, most = 0, 0
    lock = threading.Lock()

    def work() -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.1)
        with lock:
            running -= 1
        return 1

    assert sum(await asyncio.gather(*(gate.run(work) for _ in range(4)))) == 4  # all answered, after a wait
    assert most == 1 and not gate.busy


async def test_a_check_that_cannot_get_the_slot_soon_hears_busy() -> None:
    from bot.provenance.gate import CheckGate

    gate = CheckGate(wait_s=0.3, max_waiting=1)
    release = threading.Event()
    holder = asyncio.ensure_future(gate.run(lambda: release.wait(30)))
    while not gate.busy:
        await asyncio.sleep(0.01)
    waiter = asyncio.ensure_future(reply_for(b"x", posted_size=512, gate=gate))  # waits, then gives up
    await asyncio.sleep(0.05)
    # a third while one waits already: busy at once, no queue that holds images in memory
    assert await reply_for(b"x", posted_size=512, gate=gate) == texts.CHECK_BUSY
    assert await waiter == texts.CHECK_BUSY
    release.set()
    assert await holder is True
    assert await reply_for(b"x", posted_size=512, gate=gate) == texts.CHECK_NOT_IMAGE  # the slot is free again


async def test_the_check_limit_holds_across_processes(tmp_path: Path) -> None:
    """Two bot processes on one database (two Figments on one SQLite file): one window per user."""
    settings = make_settings(tmp_path, check_per_minute=2)
    first = await Figment.open(settings, DirectSource(DrawnFaceModel()))
    second = await Figment.open(settings, DirectSource(DrawnFaceModel()))
    try:
        await CheckService(first).admit("telegram", "7")
        await CheckService(second).admit("telegram", "7")
        with pytest.raises(UserError, match=r"Easy there! You can ask again in \d+ s"):
            await CheckService(first).admit("telegram", "7")
        await CheckService(second).admit("telegram", "8")  # another user has a window of their own
    finally:
        await first.close()
        await second.close()
