"""`figment bench check`: CPU time and peak memory of one /check on the worst images the limits let in.

Each image is made here, at the limits (at most MAX_BYTES on disk, at most MAX_PIXELS), and checked
in a fresh process of its own, so that its peak memory is its own: the peak resident size is reset
(/proc/self/clear_refs) after the imports and the file read, and read back (VmHWM) after the check.
CPU time is the process's (all threads). The check is the one every front-end runs (check_image).
"""
from __future__ import annotations

import io
import math
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
from PIL import Image

from bot.provenance.decoding import MAX_BYTES, MAX_PIXELS, MAX_PIXELS_BY_FORMAT, MAX_PROGRESSIVE_JPEG_BYTES

SIDE = math.isqrt(MAX_PIXELS)                            # the largest square the pixel limit lets in
WEBP_SIDE = math.isqrt(MAX_PIXELS_BY_FORMAT["WEBP"])     # the same under WebP's own limit


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[], bytes]


def _noise(width: int, height: int, bands: int = 3) -> np.ndarray:
    return np.random.default_rng(1).integers(0, 256, (height, width, bands), dtype=np.uint8)


def _flat(mode: str, size: tuple[int, int]) -> Image.Image:
    return Image.new(mode, size, {"RGB": (200, 170, 150), "RGBA": (200, 170, 150, 255), "CMYK": (20, 40, 60, 0),
                                  "P": 7, "I;16": 40000}[mode])


def _save(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _largest_fitting(make: Callable[[int], bytes], high: int, low: int = 256, limit: int = MAX_BYTES) -> bytes:
    """make(k) for the largest k in [low, high] whose file fits in limit bytes (bisection)."""
    best = make(low)
    while low < high:
        middle = (low + high + 1) // 2
        try:
            data = make(middle)
        except ValueError:  # libwebp cannot encode that much noise at that quality
            data = b""
        if data and len(data) <= limit:
            low, best = middle, data
        else:
            high = middle - 1
    return best


def _noisy_jpeg(progressive: bool) -> bytes:
    """Noise at the pixel limit, at the best JPEG quality that fits the byte limit (a progressive
    JPEG's own)."""
    image = Image.fromarray(_noise(SIDE, SIDE))
    limit = MAX_PROGRESSIVE_JPEG_BYTES if progressive else MAX_BYTES
    return _largest_fitting(lambda q: _save(image, "JPEG", quality=q, progressive=progressive), 95, 1, limit)


def _noisy_png() -> bytes:
    """Noise (incompressible) on the largest square that fits the byte limit."""
    return _largest_fitting(lambda side: _save(Image.fromarray(_noise(side, side)), "PNG", compress_level=1),
                            math.isqrt(MAX_BYTES // 3), 1024)


def _noisy_webp() -> bytes:
    image = Image.fromarray(_noise(WEBP_SIDE, WEBP_SIDE))
    return _largest_fitting(lambda q: _save(image, "WEBP", quality=q, method=0), 95, 1)


CASES = [
    Case("JPEG flat, 40 Mpx", lambda: _save(_flat("RGB", (SIDE, SIDE)), "JPEG", quality=90)),
    Case("JPEG progressive flat, 40 Mpx", lambda: _save(_flat("RGB", (SIDE, SIDE)), "JPEG", quality=90,
                                                        progressive=True)),
    Case("JPEG noise, 40 Mpx (best quality under 20 MB)", lambda: _noisy_jpeg(False)),
    Case("JPEG progressive noise, 40 Mpx (under its 10 MB)", lambda: _noisy_jpeg(True)),
    Case("PNG flat RGB, 40 Mpx", lambda: _save(_flat("RGB", (SIDE, SIDE)), "PNG")),
    Case("PNG flat RGBA, 40 Mpx", lambda: _save(_flat("RGBA", (SIDE, SIDE)), "PNG")),
    Case("PNG flat 16-bit grey, 40 Mpx", lambda: _save(_flat("I;16", (SIDE, SIDE)), "PNG")),
    Case("PNG noise, largest under 20 MB", _noisy_png),
    Case("PNG noise 1023 px (both scales searched)", lambda: _save(Image.fromarray(_noise(1023, 1023)), "PNG")),
    Case("WebP lossless flat, 12 Mpx (WebP's limit)", lambda: _save(_flat("RGB", (WEBP_SIDE, WEBP_SIDE)), "WEBP",
                                                                     lossless=True)),
    Case("WebP noise, 12 Mpx (best quality under 20 MB)", _noisy_webp),
    Case("GIF flat, 40 Mpx", lambda: _save(_flat("P", (SIDE, SIDE)), "GIF")),
    Case("GIF noise, largest under 20 MB", lambda: _largest_fitting(
        lambda side: _save(Image.fromarray(_noise(side, side, 1)[:, :, 0], "L").convert("P"), "GIF"), SIDE, 1024)),
    Case("TIFF CMYK deflate flat, 40 Mpx", lambda: _save(_flat("CMYK", (SIDE, SIDE)), "TIFF",
                                                         compression="tiff_adobe_deflate")),
]


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _measure(path: str, posted_size: int) -> dict:
    """In a fresh process: one check of the file at path."""
    from bot.provenance.check import CheckRefused, check_image

    data = Path(path).read_bytes()
    check_image(_save(_flat("RGB", (256, 256)), "PNG"), posted_size=posted_size)  # warm: lazy imports, caches
    before = _status_kb("VmRSS")
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets the peak (VmHWM) to the current size
    except OSError:
        pass
    cpu, wall = time.process_time(), time.perf_counter()
    try:
        outcome = "mark found" if check_image(data, posted_size=posted_size).figment else "no mark"
    except CheckRefused as refused:
        outcome = f"refused: {refused}"
    return {"cpu_s": time.process_time() - cpu, "wall_s": time.perf_counter() - wall,
            "peak_mb": (_status_kb("VmHWM") - before) / 1024, "rss_before_mb": before / 1024, "outcome": outcome}


def run(posted_size: int = 512, say: Callable[[str], None] = print) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for case in CASES:
            data = case.make()
            path = os.path.join(folder, "image")
            Path(path).write_bytes(data)
            with Image.open(io.BytesIO(data)) as image:
                size, mode, fmt = image.size, image.mode, image.format
            # one fresh process per image: its peak memory and its imports are its own
            with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
                result = pool.submit(_measure, path, posted_size).result()
            rows.append({"name": case.name, "format": fmt, "mode": mode, "size": size, "bytes": len(data), **result})
            say(f"{case.name}: {result['cpu_s']:.2f} s CPU, +{result['peak_mb']:.0f} MB, {result['outcome']}")
    return rows


def _marker_flood() -> bytes:
    """A small JPEG behind empty comment segments up to the byte limit: PIL walks them in Python."""
    jpeg = _save(Image.new("RGB", (512, 512), "tan"), "JPEG")
    return jpeg[:2] + b"\xff\xfe\x00\x02" * ((MAX_BYTES - len(jpeg)) // 4) + jpeg[2:]


def rle8_bmp(width: int, height: int) -> bytes:
    """An 8-bit run-length BMP of one-pixel runs: PIL decodes it in Python, a run at a time."""
    import struct

    row = b"".join(bytes([1, i % 256]) for i in range(width)) + b"\x00\x00"
    body = row * height + b"\x00\x01"
    palette = b"".join(bytes([i, i, i, 0]) for i in range(256))
    offset = 14 + 40 + len(palette)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 8, 1, len(body), 2835, 2835, 256, 0)
    return b"BM" + struct.pack("<IHHI", offset + len(body), 0, 0, offset) + info + palette + body


def _run_length_bmp() -> bytes:
    """A run-length BMP up to the byte limit."""
    width = 3000
    return rle8_bmp(width, (MAX_BYTES - 2000) // (2 * width + 2))


SLOW_CASES = [Case("JPEG of 5 million empty markers (20 MB)", _marker_flood),
              Case("run-length BMP of one-pixel runs (20 MB)", _run_length_bmp)]


def run_slow(posted_size: int = 512, say: Callable[[str], None] = print) -> list[dict]:
    """Files slow to parse, through the bot's own path (worker process, time limit): wall time to the answer."""
    import asyncio

    from bot.provenance.check import reply_for
    from bot.provenance.worker import WORKER

    async def answer(data: bytes) -> tuple[float, str]:
        await reply_for(_save(_flat("RGB", (256, 256)), "PNG"), posted_size=posted_size)  # the worker is up
        began = time.perf_counter()
        reply = await reply_for(data, posted_size=posted_size)
        return time.perf_counter() - began, reply

    rows = []
    try:
        for case in SLOW_CASES:
            seconds, reply = asyncio.run(answer(case.make()))
            rows.append({"name": case.name, "wall_s": seconds, "reply": reply})
            say(f"{case.name}: answered in {seconds:.1f} s: {reply}")
    finally:
        WORKER.stop()
    return rows


def cpu_name() -> str:
    """The CPU's model name (as lscpu shows it)."""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return ""


def table(rows: list[dict]) -> Iterator[str]:
    yield "| image | pixels | file | CPU s | peak MB (over the process's own) | result |"
    yield "| --- | --- | --- | --- | --- | --- |"
    for row in rows:
        width, height = row["size"]
        yield (f"| {row['name']} | {width}x{height} {row['mode']} | {row['bytes'] / 1e6:.1f} MB | "
               f"{row['cpu_s']:.2f} | {row['peak_mb']:.0f} | {row['outcome']} |")


def slow_table(rows: list[dict]) -> Iterator[str]:
    yield "| file slow to parse | answered after (wall) | reply |"
    yield "| --- | --- | --- |"
    for row in rows:
        yield f"| {row['name']} | {row['wall_s']:.1f} s | {row['reply']} |"
