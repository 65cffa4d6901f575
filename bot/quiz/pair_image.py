"""The pair image: two quiz faces side by side, marked A and B, as one posted image.

Each face goes through the one quiz pipeline first (bot.imaging: the same detail level, the
same resampler, to the posted size), so neither side is sharper; the labels are drawn the
same way on both sides whichever is real; the composite is encoded like every quiz image:
one JPEG encoder and quality, no metadata, a random name, and a fixed byte length for its size.
"""
from __future__ import annotations

from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from bot.imaging import QUIZ_DETAIL, PostedImage, fixed_length_jpeg, quiz_length, to_quiz_pixels

SIDES = ("A", "B")


def pair_length(size: int) -> int:
    """The fixed byte length of a pair image of two size x size faces: that of two quiz images."""
    return 2 * quiz_length(size)


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=max(10, size // 9))


def _label(canvas: Image.Image, left: int, size: int, text: str) -> None:
    """A dark badge with the side's letter in the face's top-left corner."""
    draw = ImageDraw.Draw(canvas)
    font = _font(size)
    pad = max(3, size // 40)
    x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font)
    box = (left + pad, pad, left + pad + (x1 - x0) + 2 * pad, pad + (y1 - y0) + 2 * pad)
    draw.rectangle(box, fill=(20, 20, 20))
    draw.text((box[0] + pad - x0, box[1] + pad - y0), text, fill=(255, 255, 255), font=font)


def pair_pixels(a: Image.Image, b: Image.Image, size: int, detail: int = QUIZ_DETAIL) -> Image.Image:
    """Faces a and b at quiz detail, side by side (2*size x size), labelled A and B."""
    canvas = Image.new("RGB", (2 * size, size))
    for index, (face, side) in enumerate(zip((a, b), SIDES)):
        canvas.paste(to_quiz_pixels(face, size, detail), (index * size, 0))
        _label(canvas, index * size, size, side)
    return canvas


def pair_image(a: Image.Image, b: Image.Image, size: int, detail: int = QUIZ_DETAIL) -> PostedImage:
    """The posted pair image: JPEG, fixed byte length for its size, no metadata, random name."""
    return fixed_length_jpeg(pair_pixels(a, b, size, detail), pair_length(size))
