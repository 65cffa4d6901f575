"""Reading an image's marks: check_image() and its CheckResult, with no limits of its own.

The worker process runs this (bot.provenance.worker); bot.provenance.check wraps it in the
per-user limit, the one check slot and the worker's time limit. It imports only leaf modules,
so the worker and the service can both import it without a circle.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterable

from bot import texts
from bot.provenance import watermark
from bot.provenance.credentials import ManifestReading, read_manifest
from bot.provenance.decoding import decode


@dataclass(frozen=True)
class CheckResult:
    manifest: ManifestReading | None
    mark: watermark.MarkReading
    model_version: str | None   # the watermark's model, named when it is a version we know

    @property
    def figment(self) -> bool:
        return self.mark.found or bool(self.manifest and self.manifest.facts)

    def reply(self, lang: str | None = None) -> str:
        return texts.lang(lang).check_reply(self.manifest, self.mark, self.model_version)


def check_image(data: bytes, *, posted_size: int = 512, known_versions: Iterable[str] = (),
                deadline: float | None = None) -> CheckResult:
    """Read the Content Credentials and the watermark of an image file. Raises CheckRefused, and
    TimeoutError once time.monotonic() passes deadline."""
    decoded = decode(data, posted_size)
    if deadline is not None and time.monotonic() > deadline:
        raise watermark.ReadTimeout("decoding used up the time")
    manifest = read_manifest(data, decoded.mime)
    mark = watermark.read_views(decoded.views, deadline=deadline)
    names = {watermark.model_id(v): v for v in known_versions}
    if manifest and manifest.facts:
        names.setdefault(watermark.model_id(manifest.facts.model_version), manifest.facts.model_version)
    return CheckResult(manifest, mark, names.get(mark.model_id) if mark.found else None)
