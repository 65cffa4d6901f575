"""The one image pipeline: every face, generated or real, becomes a posted image here.

Quiz images must not leak their truth: same size, resampling, encoder and quality for both
kinds, no metadata, a random file name, and the bytes padded to one fixed length.
"""
from __future__ import annotations

import io
import secrets
import struct
from dataclasses import dataclass

from PIL import Image, PngImagePlugin

from bot.texts import AI_NOTICE

RESAMPLE = Image.Resampling.LANCZOS
QUIZ_QUALITY = 90
MIN_QUALITY = 50
COM_MAX_PAYLOAD = 65533  # a JPEG segment length is 16 bits and counts its own two bytes


@dataclass(frozen=True)
class PostedImage:
    data: bytes
    filename: str
    mime: str


def quiz_length(size: int) -> int:
    """The fixed byte length of every quiz image at this size (about 0.6 bytes per pixel)."""
    return int(size * size * 0.6)


def to_posted_size(image: Image.Image, size: int) -> Image.Image:
    image = image.convert("RGB")
    if image.size != (size, size):
        image = image.resize((size, size), RESAMPLE)
    return image


def _jpeg(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    # No exif, no icc_profile, no comment: Pillow writes only the JFIF header it always writes.
    image.save(buffer, format="JPEG", quality=quality, optimize=True, subsampling="4:2:0")
    return buffer.getvalue()


def _comment_segments(length: int) -> bytes:
    """JPEG COM segments (FFFE) of exactly `length` bytes in all; length is 0 or at least 4."""
    out = bytearray()
    while length > 0:
        segment = min(length, COM_MAX_PAYLOAD + 4)
        if 0 < length - segment < 4:  # never leave a remainder too short for a segment
            segment = length - 4
        payload = segment - 4
        out += b"\xff\xfe" + struct.pack(">H", payload + 2) + b"\x00" * payload
        length -= segment
    return bytes(out)


def pad_jpeg(data: bytes, length: int) -> bytes:
    missing = length - len(data)
    if missing == 0:
        return data
    if missing < 4:
        raise ValueError("cannot pad by fewer than 4 bytes")
    return data[:2] + _comment_segments(missing) + data[2:]


def quiz_image(image: Image.Image, size: int) -> PostedImage:
    """A quiz image: JPEG of fixed size and byte length, no metadata, random name."""
    square = to_posted_size(image, size)
    length = quiz_length(size)
    quality = QUIZ_QUALITY
    data = _jpeg(square, quality)
    while len(data) > length - 4 and quality > MIN_QUALITY:
        quality -= 5
        data = _jpeg(square, quality)
    if len(data) > length - 4:
        raise ValueError("image does not fit the quiz length even at the lowest quality")
    return PostedImage(pad_jpeg(data, length), f"{secrets.token_hex(8)}.jpg", "image/jpeg")


def face_png(image: Image.Image, size: int, caption: str = AI_NOTICE) -> PostedImage:
    """A /face image: PNG that says it is AI-generated in a text chunk too."""
    info = PngImagePlugin.PngInfo()
    info.add_text("Description", caption)
    info.add_text("Software", "Figment")
    buffer = io.BytesIO()
    to_posted_size(image, size).save(buffer, format="PNG", pnginfo=info, optimize=False)
    return PostedImage(buffer.getvalue(), f"face-{secrets.token_hex(4)}.png", "image/png")
