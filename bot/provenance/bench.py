"""`figment bench provenance`: how well the watermark survives platform edits, and false alarms.

Marked faces: generated faces at the posted size, marked as /face marks them, then each edit.
Real photos: files under a folder (read in place, never copied), read as they are.
"""
from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from PIL import Image

from bot.imaging import to_posted_size
from bot.provenance import watermark

Edit = Callable[[Image.Image], Image.Image]
PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}


def jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue()))


def telegram_photo(image: Image.Image) -> Image.Image:
    """What Telegram does to a sent photo: longest side at most 1280 px, JPEG at about q87."""
    if max(image.size) > 1280:
        factor = 1280 / max(image.size)
        image = image.resize((round(image.width * factor), round(image.height * factor)), Image.Resampling.LANCZOS)
    return jpeg(image, 87)


def half(image: Image.Image) -> Image.Image:
    return image.resize((image.width // 2, image.height // 2), Image.Resampling.LANCZOS)


def crop(fraction: float, centred: bool) -> Edit:
    """Remove `fraction` of each side's length: from the top-left corner, or split around the centre."""
    def edit(image: Image.Image) -> Image.Image:
        dx, dy = round(image.width * fraction), round(image.height * fraction)
        if centred:
            return image.crop((dx // 2, dy // 2, image.width - (dx - dx // 2), image.height - (dy - dy // 2)))
        return image.crop((dx, dy, image.width, image.height))
    return edit


EDITS: dict[str, Edit] = {
    "none (PNG as posted)": lambda image: image,
    "JPEG q90": lambda image: jpeg(image, 90),
    "JPEG q75": lambda image: jpeg(image, 75),
    "Telegram photo (<=1280 px, JPEG q87)": telegram_photo,
    "half size (Lanczos)": half,
    "crop 10% (top-left)": crop(0.10, centred=False),
    "crop 10% (centred)": crop(0.10, centred=True),
    "JPEG q50 (beyond spec)": lambda image: jpeg(image, 50),
    "quarter size (beyond spec)": lambda image: half(half(image)),
    "crop 20% (beyond spec)": crop(0.20, centred=False),
    "half size + JPEG q75 (beyond spec)": lambda image: jpeg(half(image), 75),
}


@dataclass
class EditResult:
    found: int = 0
    bit_errors: int = 0
    bits: int = 0
    read_ms: list[float] = field(default_factory=list)


def bench_faces(count: int, posted_size: int, seed0: int = 1_000_000) -> dict:
    from generator.loading import load_face_model

    model = load_face_model()
    version = model.model_version
    results = {name: EditResult() for name in EDITS}
    embed_ms: list[float] = []
    psis = (0.5, 0.7, 0.9, 1.0)
    for start in range(0, count, 8):
        seeds = list(range(seed0 + start, seed0 + min(count, start + 8)))
        for k, face in enumerate(model.generate(seeds, [psis[(start + i) % 4] for i in range(len(seeds))])):
            began = time.perf_counter()
            marked = watermark.embed(to_posted_size(face, posted_size), version)
            embed_ms.append((time.perf_counter() - began) * 1000)
            for name, edit in EDITS.items():
                began = time.perf_counter()
                reading = watermark.read(edit(marked), posted_size)
                result = results[name]
                result.read_ms.append((time.perf_counter() - began) * 1000)
                result.found += reading.found and reading.model_id == watermark.model_id(version)
                result.bit_errors += reading.bit_errors(version)
                result.bits += 64
        print(f"faces {min(count, start + 8)}/{count}", flush=True)
    return {"model_version": version, "faces": count, "embed_ms_median": _median(embed_ms),
            "edits": {name: {"detected": r.found, "detection_rate": r.found / count,
                             "bit_error_rate": r.bit_errors / max(1, r.bits),
                             "read_ms_median": _median(r.read_ms)} for name, r in results.items()}}


def photo_files(folder: Path, count: int) -> list[Path]:
    """`count` photos spread evenly over the sorted files under folder (all packs get a share)."""
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in PHOTO_SUFFIXES and p.is_file())
    if len(files) <= count:
        return files
    step = len(files) / count
    return [files[int(k * step)] for k in range(count)]


def bench_photos(folder: Path, count: int, posted_size: int) -> dict:
    files = photo_files(folder, count)
    false_positives, unreadable, read_ms, min_sync = 0, 0, [], watermark.SYNC_BITS
    for k, path in enumerate(files, 1):
        try:
            with Image.open(path) as image:
                image.load()
                began = time.perf_counter()
                reading = watermark.read(image, posted_size)
        except (OSError, ValueError):
            unreadable += 1
            continue
        read_ms.append((time.perf_counter() - began) * 1000)
        false_positives += reading.found
        min_sync = min(min_sync, reading.sync_errors)
        if k % 50 == 0:
            print(f"photos {k}/{len(files)} false positives {false_positives}", flush=True)
    return {"photos": len(files) - unreadable, "unreadable": unreadable, "false_positives": false_positives,
            "fewest_sync_errors": min_sync, "read_ms_median": _median(read_ms)}


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2] if values else 0.0


def table(faces: dict | None, photos: dict | None) -> Iterator[str]:
    if faces:
        yield f"Watermark on {faces['faces']} generated faces (model {faces['model_version']}), " \
              f"embedding {faces['embed_ms_median']:.0f} ms per face (median):"
        yield ""
        yield "| edit | detected | detection rate | bit error rate | read ms (median) |"
        yield "| --- | --- | --- | --- | --- |"
        for name, row in faces["edits"].items():
            yield (f"| {name} | {row['detected']}/{faces['faces']} | {row['detection_rate']:.1%} | "
                   f"{row['bit_error_rate']:.2%} | {row['read_ms_median']:.0f} |")
    if photos:
        yield ""
        yield (f"Real photos: {photos['false_positives']} false positives in {photos['photos']} "
               f"(fewest wrong sync bits on any photo: {photos['fewest_sync_errors']} of "
               f"{watermark.SYNC_BITS}; a mark needs at most {watermark.MAX_SYNC_ERRORS} and a valid CRC); "
               f"read {photos['read_ms_median']:.0f} ms per photo (median).")


def save(path: Path, result: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2))
