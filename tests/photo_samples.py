"""Test photos for the photo import: real ones read from ../shared/faces, bad ones made here.

Nothing cut from the shared photos is committed: every picture is made at test time.
"""
from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from tests.conftest import REPO, SHARED_FACES

SOURCES = ("all-age-faces", "utkface-crop", "celeba-6k")

needs_faces = pytest.mark.skipif(not SHARED_FACES.is_dir(), reason="../shared/faces is not here")


def shared_photos(source: str, count: int, start: int = 0) -> list[Path]:
    """`count` photos of one source, in a fixed order (celeba-6k: one per identity folder)."""
    root = SHARED_FACES / source
    if source == "celeba-6k":
        folders = sorted(p for p in root.iterdir() if p.is_dir())[start:start + count]
        return [sorted(folder.iterdir())[0] for folder in folders]
    return sorted(root.iterdir())[start:start + count]


def copy_photo(source: Path, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(source.read_bytes())
    return target


def truncated_jpeg(source: Path) -> bytes:
    data = source.read_bytes()
    return data[: len(data) // 2]


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG whose header declares a huge picture."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + \
        chunk(b"IEND", b"")


def no_face_photo(size: int = 256) -> Image.Image:
    """A landscape: sky, hills, a sun. No face."""
    image = Image.new("RGB", (size, size), (120, 170, 230))
    draw = ImageDraw.Draw(image)
    draw.ellipse([size * 0.65, size * 0.1, size * 0.85, size * 0.3], fill=(250, 220, 90))
    draw.polygon([(0, size * 0.7), (size * 0.4, size * 0.45), (size, size * 0.75), (size, size), (0, size)],
                 fill=(60, 130, 60))
    return image.filter(ImageFilter.GaussianBlur(2))


def three_faces_photo() -> Image.Image:
    """Three different tight face crops side by side: three faces of the same size."""
    faces = [Image.open(p).convert("RGB").resize((200, 200)) for p in shared_photos("utkface-crop", 3, 40)]
    canvas = Image.new("RGB", (660, 240), (200, 200, 200))
    for index, face in enumerate(faces):
        canvas.paste(face, (20 + index * 210, 20))
    return canvas


def jpeg_bytes(image: Image.Image, quality: int = 92) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def png_of(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def recompressed(source: Path, scale: float = 0.9, quality: int = 80) -> bytes:
    """The same picture, resized and saved again: a near duplicate."""
    with Image.open(source) as image:
        image = image.convert("RGB")
        smaller = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS)
    return jpeg_bytes(smaller, quality)


def noise_image(size: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8), "RGB")


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def link(path: Path, target: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, path)
    return path
