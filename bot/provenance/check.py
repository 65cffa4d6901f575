"""`check`: does an image carry Figment's marks? The use case behind `figment check` and /check.

Any bytes may come in: they are sized and probed before decoding, so a non-image, a huge image,
a decompression bomb or a truncated file gets a clear answer (CheckRefused), never a traceback.
The work is bounded whatever is sent (bot.provenance.decoding shrinks first, the watermark reader
searches a bounded window); CheckService adds the per-user rate limit, the process's one check
slot (bot.provenance.gate) and a worker process killed at the time limit (bot.provenance.worker).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Protocol

from bot import texts
from bot.errors import UserError
from bot.provenance.decoding import MAX_BYTES, MAX_PIXELS, CheckRefused
from bot.provenance.gate import GATE, CheckGate, GateBusy
from bot.provenance.reading import CheckResult, check_image
from bot.provenance.worker import WORKER, CheckTimedOut, CheckWorker
from bot.ratelimits import SharedRateLimiter

if TYPE_CHECKING:
    from bot.settings import Settings
    from db.database import Database
    from generator.interface import FaceSource

__all__ = ["MAX_BYTES", "MAX_PIXELS", "CheckRefused", "CheckResult", "CheckService", "check_image"]


async def reply_for(data: bytes, *, posted_size: int, known_versions: Iterable[str] = (),
                    gate: CheckGate = GATE, worker: CheckWorker = WORKER, lang: str | None = None) -> str:
    """The chat reply for an uploaded image: the finding, or why it cannot be checked (not an
    image, too big, busy, out of time). One check at a time in this process, in the worker process."""
    versions = tuple(known_versions)
    t = texts.lang(lang)
    try:
        result = await gate.run(lambda: worker.check(data, posted_size, versions))
    except CheckRefused as refused:
        return t.say(refused.text)
    except GateBusy:
        return t.CHECK_BUSY
    except CheckTimedOut:
        return t.CHECK_TIMEOUT
    return result.reply(t.lang)


def known_versions(source: object) -> list[str]:
    """The model version of the face source (to name a watermark's model id), when it tells."""
    version = getattr(source, "model_version", None)
    return [version] if isinstance(version, str) and version else []


class CheckHost(Protocol):
    """What /check takes from the core (bot.app.Figment is one): named by its parts, so this
    module does not import the core that imports it."""

    db: "Database"
    settings: "Settings"
    source: "FaceSource"


class CheckService:
    """/check for every front-end: admit() counts the request against the user's limit (kept in
    the database, so it holds across every bot process), reply() checks the downloaded image."""

    def __init__(self, figment: CheckHost, gate: CheckGate = GATE, worker: CheckWorker = WORKER) -> None:
        self.figment = figment
        self.gate = gate
        self.worker = worker
        self.limiter = SharedRateLimiter(figment.db, "check", figment.settings.check_per_minute)

    async def admit(self, platform: str, user_id: str | int) -> None:
        """Before downloading anything: UserError ("try again in N s") when over the limit."""
        await self.limiter.check((platform, user_id))

    async def reply(self, data: bytes, lang: str | None = None) -> str:
        """The reply in lang (the asker's language; English when None)."""
        return await reply_for(data, posted_size=self.figment.settings.posted_size,
                               known_versions=known_versions(self.figment.source), gate=self.gate,
                               worker=self.worker, lang=lang)
