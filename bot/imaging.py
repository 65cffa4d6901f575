"""The one image pipeline: every face, generated or real, becomes a posted image here.

Quiz images must not leak their truth. Every quiz image, real or generated:
- is first brought to one detail level (QUIZ_DETAIL px, the generator's resolution), then
  upscaled to the posted size with one resampler, so sharpness says nothing about the source;
- is encoded by one JPEG encoder with one quality, fixed chroma subsampling and the standard
  Huffman tables (optimized tables would differ per image): every header byte up to the
  image data is the same for all quiz images of a size;
- carries no metadata (no EXIF, ICC profile, comment or text), gets a random file name;
- is padded to one fixed byte length with 0xFF fill bytes before the end marker (JPEG allows
  any number of them before a marker), so neither the file size nor a length field in the
  header tells anything; only an image too detailed to fit is re-encoded a little lower.
"""
from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, PngImagePlugin

from bot.texts import AI_NOTICE

RESAMPLE = Image.Resampling.LANCZOS
QUIZ_DETAIL = 128  # the generator's resolution: real photos are brought down to it too
QUIZ_QUALITY = 90
MIN_QUALITY = 50
QUALITY_STEP = 5
SOI, EOI = b"\xff\xd8", b"\xff\xd9"


@dataclass(frozen=True)
class PostedImage:
    data: bytes
    filename: str
    mime: str


def quiz_length(size: int) -> int:
    """The fixed byte length of every quiz image at this size (0.6 bytes per pixel).

    Faces upscaled from QUIZ_DETAIL px to 512 need 30 KB on average and at most 47 KB (300 real
    aligned faces, quality 90) of the 157 KB, so the lower qualities (whose tables would show
    in the header) are for pathological pictures (noise) only.
    """
    return int(size * size * 0.6)


def load_rgb(path: Path) -> Image.Image:
    """A stored photo's pixels as RGB (the file is closed before returning)."""
    with Image.open(path) as image:
        return image.convert("RGB")


def _clean(image: Image.Image) -> Image.Image:
    """An RGB copy that carries no info (Pillow would write a source's comment or profile back)."""
    rgb = image.convert("RGB")
    clean = Image.new("RGB", rgb.size)
    clean.paste(rgb)
    return clean


def to_posted_size(image: Image.Image, size: int) -> Image.Image:
    image = _clean(image)
    if image.size != (size, size):
        image = image.resize((size, size), RESAMPLE)
    return image


def to_quiz_pixels(image: Image.Image, size: int, detail: int = QUIZ_DETAIL) -> Image.Image:
    """Every quiz face at the same detail level: down (or up) to `detail` px, then up to `size`."""
    return to_posted_size(to_posted_size(image, detail), size)


def _jpeg(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    # Standard tables (optimize=False), baseline, no exif, icc_profile or comment: Pillow
    # writes SOI, its JFIF APP0, quantization, frame, Huffman and scan headers, all fixed.
    image.save(buffer, format="JPEG", quality=quality, optimize=False, progressive=False, subsampling="4:2:0")
    return buffer.getvalue()


def pad_jpeg(data: bytes, length: int) -> bytes:
    """`data` grown to exactly `length` bytes with fill bytes (0xFF) before its end marker."""
    if not data.endswith(EOI):
        raise ValueError("not a complete JPEG (no end marker)")
    missing = length - len(data)
    if missing < 0:
        raise ValueError("the JPEG is longer than the length to pad to")
    return data[:-2] + b"\xff" * missing + EOI


def quiz_image(image: Image.Image, size: int, detail: int = QUIZ_DETAIL) -> PostedImage:
    """A quiz image: JPEG of fixed size, detail and byte length, no metadata, random name."""
    return fixed_length_jpeg(to_quiz_pixels(image, size, detail), quiz_length(size))


def fixed_length_jpeg(pixels: Image.Image, length: int) -> PostedImage:
    """Quiz pixels (already at their posted size) as a JPEG of exactly `length` bytes."""
    quality = QUIZ_QUALITY
    data = _jpeg(pixels, quality)
    while len(data) > length and quality > MIN_QUALITY:
        quality -= QUALITY_STEP
        data = _jpeg(pixels, quality)
    if len(data) > length:
        raise ValueError("image does not fit the quiz length even at the lowest quality")
    return PostedImage(pad_jpeg(data, length), f"{secrets.token_hex(8)}.jpg", "image/jpeg")


def face_png(image: Image.Image, size: int, caption: str = AI_NOTICE) -> PostedImage:
    """A /face image: PNG that says it is AI-generated in a text chunk too."""
    return _png(to_posted_size(image, size), caption, "face")


def faces_sheet_png(images: list[Image.Image], tile: int, columns: int, caption: str) -> PostedImage:
    """Several AI faces on one sheet (the hall of fakes): a PNG that says so in a text chunk too."""
    columns = max(1, min(columns, len(images)))
    rows = -(-len(images) // columns)
    sheet = Image.new("RGB", (tile * columns, tile * rows), "white")
    for index, image in enumerate(images):
        sheet.paste(to_posted_size(image, tile), ((index % columns) * tile, (index // columns) * tile))
    return _png(sheet, caption, "faces")


def _png(image: Image.Image, caption: str, stem: str) -> PostedImage:
    info = PngImagePlugin.PngInfo()
    info.add_text("Description", caption)
    info.add_text("Software", "Figment")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info, optimize=False)
    return PostedImage(buffer.getvalue(), f"{stem}-{secrets.token_hex(4)}.png", "image/png")
