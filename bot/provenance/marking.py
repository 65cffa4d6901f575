"""What makes a /face file say where it came from: the watermark, then the signed manifest.

Only /face (an edited one too, and a quiz face after its reveal, on request) goes through here; quiz images are
made by bot.imaging.quiz_image, which never marks.
"""
from __future__ import annotations

import logging

import c2pa
from PIL import Image

from bot.imaging import PostedImage, face_png, to_posted_size
from bot.provenance import watermark
from bot.provenance.credentials import Credentials, FaceFacts

log = logging.getLogger(__name__)


class FaceMarks:
    """Marks faces: always the watermark; Content Credentials when a signer is configured."""

    def __init__(self, credentials: Credentials | None = None) -> None:
        self.credentials = credentials

    def posted(self, image: Image.Image, size: int, caption: str, facts: FaceFacts) -> PostedImage:
        marked = watermark.embed(to_posted_size(image, size), facts.model_version)
        return self.signed(face_png(marked, size, caption), facts)

    def signed(self, png: PostedImage, facts: FaceFacts) -> PostedImage:
        """A PNG already watermarked (a face, an edited face, a strip of them), with its manifest
        when a signer is configured."""
        if self.credentials is None:
            return png
        try:
            signed = self.credentials.sign(png.data, facts, title=png.filename)
        except c2pa.C2paError:  # tried at start, so unexpected: the face still goes out, watermarked
            log.exception("signing a /face manifest failed; posting it without Content Credentials")
            return png
        return PostedImage(signed, png.filename, png.mime)
