"""Open a photo safely: bomb guard on, corrupt or truncated data and non-images rejected."""
from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

from bot.photos.reasons import NOT_AN_IMAGE, TOO_LARGE, UNREADABLE, PhotoRejected

# Photos bigger than this (declared width x height) are refused before any pixel is decoded:
# a PNG can declare 100,000 x 100,000 pixels in a few hundred bytes.
MAX_PIXELS = 64_000_000
# The photo formats the walk takes by name (JPEG covers cameras' MPO too). Pillow would otherwise
# open whatever the bytes are, EPS included, which it hands to Ghostscript where that is installed.
FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF")


def decode_photo(data: bytes, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """The photo as an upright RGB image, or PhotoRejected saying why not."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=FORMATS)
            width, height = image.size
            if width * height > max_pixels:
                raise PhotoRejected(TOO_LARGE, f"{width}x{height} pixels declared")
            image.load()  # decodes everything now: truncated data fails here, not later
            image = ImageOps.exif_transpose(image) or image
            return image.convert("RGB")
    except PhotoRejected:
        raise
    except UnidentifiedImageError as error:
        raise PhotoRejected(NOT_AN_IMAGE, "no known image format") from error
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise PhotoRejected(TOO_LARGE, str(error)) from error
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as error:
        # Pillow reports corrupt data with several exception types depending on the format.
        raise PhotoRejected(UNREADABLE, str(error) or type(error).__name__) from error
