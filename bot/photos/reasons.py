"""Why a file was not imported: one short code per reason, counted in the import summary."""
from __future__ import annotations

UNREADABLE = "unreadable"          # corrupt or truncated image data
NOT_AN_IMAGE = "not an image"      # no image format recognised (a text file named .jpg)
TOO_LARGE = "too large"            # decompression-bomb guard: declared size too big
NO_FACE = "no face"
SEVERAL_FACES = "several faces"    # more than one face of similar size
FACE_TOO_SMALL = "face too small"
TOO_BLURRED = "too blurred"
DUPLICATE = "duplicate"            # same bytes as a photo already imported
NEAR_DUPLICATE = "near duplicate"  # same picture (perceptual hash) as one already imported

ALL = (UNREADABLE, NOT_AN_IMAGE, TOO_LARGE, NO_FACE, SEVERAL_FACES, FACE_TOO_SMALL, TOO_BLURRED,
       DUPLICATE, NEAR_DUPLICATE)


class PhotoRejected(Exception):
    """A photo that is skipped, with one of the reasons above and a human detail."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
