"""Uploaded bytes to the few small pictures the watermark reader searches, for little work.

A check must cost about the same whatever is sent, so nothing is worked on at full size that need
not be: the file's size and pixel count are checked before decoding, a JPEG is decoded already
scaled down (libjpeg's DCT scaling, PIL's draft()), and any other large image is box-reduced in
strips in its own mode, so no second full-size copy (an RGB conversion) is ever made.
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError
from PIL.JpegImagePlugin import JpegImageFile

from bot import texts
from bot.provenance import watermark

MAX_BYTES = 20 * 1024 * 1024   # Telegram bots can fetch at most 20 MB; the same for every door
MAX_PIXELS = 40_000_000        # bigger is no face we made, and decoding it would cost memory
MIMES = {"PNG": "image/png", "JPEG": "image/jpeg", "MPO": "image/jpeg", "WEBP": "image/webp",
         "GIF": "image/gif", "TIFF": "image/tiff", "BMP": "image/bmp"}
FORMATS = ["PNG", "JPEG", "WEBP", "GIF", "TIFF", "BMP"]  # PIL's other decoders are never tried (JPEG covers MPO)
# Pillow's WebP decoder holds about 15 bytes a pixel (libwebp's canvas, a copy, the image) and
# decodes noise at about 60 ns a pixel, so WebP gets its own, lower limit (4K screenshots and
# phone photos fit).
MAX_PIXELS_BY_FORMAT = {"WEBP": 12_000_000}
# A progressive JPEG's every scan is entropy-decoded whatever the draft scale, at about 70 ms a
# megabyte here: so it gets a lower byte limit (a 24 Mpx progressive photo is about 8 MB).
MAX_PROGRESSIVE_JPEG_BYTES = 10 * 1024 * 1024
REDUCING_GAP = 3               # box-reduce only to 3x the target size: the resize after keeps its quality
STRIP_ROWS = 64                # output rows per strip of a strip-wise reduction (a few MB a strip)


class CheckRefused(ValueError):
    """The input cannot be checked; str() is the reply for the user in English, `text` the text
    itself (a catalogue or later() text, so the front-end says it in the reader's language)."""

    @property
    def text(self) -> str:
        return self.args[0] if self.args else str(self)


@dataclass(frozen=True)
class Decoded:
    views: list[Image.Image]   # what the watermark reader searches (watermark.views), each small
    mime: str
    size: tuple[int, int]      # the file's own pixel size


def decode(data: bytes, posted_size: int) -> Decoded:
    """The watermark views of an image file. Raises CheckRefused with the reply for the user."""
    if not data:
        raise CheckRefused(texts.CHECK_EMPTY)
    if len(data) > MAX_BYTES:
        raise CheckRefused(texts.later.check_too_big(MAX_BYTES))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=FORMATS)
            size = image.size
            # before decoding: a bomb is small on disk
            if size[0] * size[1] > MAX_PIXELS_BY_FORMAT.get(image.format or "", MAX_PIXELS):
                raise CheckRefused(texts.later.check_too_many_pixels(*size))
            mime = MIMES.get(image.format or "", "application/octet-stream")
            if isinstance(image, JpegImageFile) and image.info.get("progressive") \
                    and len(data) > MAX_PROGRESSIVE_JPEG_BYTES:
                raise CheckRefused(texts.later.check_too_big(MAX_PROGRESSIVE_JPEG_BYTES, texts.PROGRESSIVE_JPEG))
            if isinstance(image, JpegImageFile):  # decoded at 1/2, 1/4 or 1/8 when still at least the posted scale
                image.draft("RGB", watermark.posted_scale(size, posted_size))
            image.load()
            small = _shrunk(image, size, posted_size)
            views = watermark.views(small, posted_size, native_size=size)
    except CheckRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise CheckRefused(texts.CHECK_BOMB) from None
    except UnidentifiedImageError:
        raise CheckRefused(texts.CHECK_NOT_IMAGE) from None
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError):  # truncated, corrupt or odd image data
        raise CheckRefused(texts.CHECK_BROKEN) from None
    return Decoded(views, mime, size)


def _shrunk(image: Image.Image, size: tuple[int, int], posted_size: int) -> Image.Image:
    """image in RGB: as it is when small; at twice the posted size or more (no own-scale view then),
    box-reduced towards REDUCING_GAP x the posted scale, strip by strip."""
    if max(size) < 2 * posted_size or max(image.size) < 2 * posted_size:
        return image.convert("RGB")  # odd modes (16-bit, CMYK, palette) fail here, as CHECK_BROKEN
    target = watermark.posted_scale(size, posted_size)
    factor = max(1, int(max(image.width / target[0], image.height / target[1]) / REDUCING_GAP))
    width, height = -(-image.width // factor), -(-image.height // factor)
    out = Image.new("RGB", (width, height))
    step = STRIP_ROWS * factor
    for top in range(0, image.height, step):
        strip = image.crop((0, top, image.width, min(image.height, top + step))).convert("RGB")
        out.paste(strip.reduce(factor) if factor > 1 else strip, (0, top // factor))
    return out
