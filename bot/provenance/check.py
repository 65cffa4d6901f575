"""`check`: does an image carry Figment's marks? The use case behind `figment check` and /check.

Any bytes may come in: they are sized and probed before decoding, so a non-image, a huge image,
a decompression bomb or a truncated file gets a clear answer (CheckRefused), never a traceback.
"""
from __future__ import annotations

import asyncio
import io
import warnings
from dataclasses import dataclass
from typing import Iterable

from PIL import Image, UnidentifiedImageError

from bot import texts
from bot.provenance import watermark
from bot.provenance.credentials import ManifestReading, read_manifest

MAX_BYTES = 20 * 1024 * 1024   # Telegram bots can fetch at most 20 MB; the same for every door
MAX_PIXELS = 40_000_000        # bigger is no face we made, and decoding it would cost memory
MIMES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "GIF": "image/gif",
         "TIFF": "image/tiff", "BMP": "image/bmp"}


class CheckRefused(ValueError):
    """The input cannot be checked; str() is the reply for the user."""


@dataclass(frozen=True)
class CheckResult:
    manifest: ManifestReading | None
    mark: watermark.MarkReading
    model_version: str | None   # the watermark's model, named when it is a version we know

    @property
    def figment(self) -> bool:
        return self.mark.found or bool(self.manifest and self.manifest.facts)

    def reply(self) -> str:
        return texts.check_reply(self)


def _open(data: bytes) -> tuple[Image.Image, str]:
    if not data:
        raise CheckRefused(texts.CHECK_EMPTY)
    if len(data) > MAX_BYTES:
        raise CheckRefused(texts.check_too_big(MAX_BYTES))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > MAX_PIXELS:  # before decoding: a bomb is small on disk
                raise CheckRefused(texts.check_too_many_pixels(image.width, image.height))
            image.load()
            rgb = image.convert("RGB")  # odd modes (16-bit, CMYK, palette) fail here, not later
    except CheckRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise CheckRefused(texts.CHECK_BOMB) from None
    except UnidentifiedImageError:
        raise CheckRefused(texts.CHECK_NOT_IMAGE) from None
    except (OSError, ValueError, SyntaxError, EOFError):  # truncated or corrupt image data
        raise CheckRefused(texts.CHECK_BROKEN) from None
    return rgb, MIMES.get(image.format or "", "application/octet-stream")


def check_image(data: bytes, *, posted_size: int = 512, known_versions: Iterable[str] = ()) -> CheckResult:
    """Read the Content Credentials and the watermark of an image file. Raises CheckRefused."""
    image, mime = _open(data)
    manifest = read_manifest(data, mime)
    mark = watermark.read(image, posted_size)
    names = {watermark.model_id(v): v for v in known_versions}
    if manifest and manifest.facts:
        names.setdefault(watermark.model_id(manifest.facts.model_version), manifest.facts.model_version)
    return CheckResult(manifest, mark, names.get(mark.model_id) if mark.found else None)


async def reply_for(data: bytes, *, posted_size: int, known_versions: Iterable[str] = ()) -> str:
    """The chat reply for an uploaded image: the finding, or why it cannot be checked.
    Decoding and reading run on a worker thread (about a second of CPU for an unmarked image)."""
    try:
        result = await asyncio.to_thread(check_image, data, posted_size=posted_size,
                                         known_versions=tuple(known_versions))
    except CheckRefused as refused:
        return str(refused)
    return result.reply()


def known_versions(source: object) -> list[str]:
    """The model version of the face source (to name a watermark's model id), when it tells."""
    version = getattr(source, "model_version", None)
    return [version] if isinstance(version, str) and version else []
