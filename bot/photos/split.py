"""Which photos are held out: decided once, at import, from a seeded hash (no randomness).

Photos of one identity (a subfolder such as celeba-6k/celeb_12) share their fate, so a
person never lands on both sides; photos without an identity are decided one by one.
"""
from __future__ import annotations

import hashlib

TRAIN, HELDOUT = "train", "heldout"
DEFAULT_HELDOUT = 0.10


def split_for(pack: str, identity: str | None, content_hash: str, heldout: float = DEFAULT_HELDOUT,
              seed: int = 0) -> str:
    key = f"identity:{pack}/{identity}" if identity else f"photo:{content_hash}"
    digest = hashlib.sha256(f"figment-split:{seed}:{key}".encode()).digest()
    share = int.from_bytes(digest[:8], "big") / 2**64
    return HELDOUT if share < heldout else TRAIN
