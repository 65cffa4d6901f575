"""A second process on the face bank: claims faces until none is left, prints the ids it got.

It says "ready" on stderr and starts claiming only once the file named by its fifth argument exists,
so two claimers start together however slowly each process starts."""
from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

from db import face_bank
from db.database import Database


async def main(url: str, version: str, psi: float, max_shows: int, go: Path) -> None:
    db = Database(url)
    await db.ensure_schema(upgrade=False)
    print("ready", file=sys.stderr, flush=True)
    deadline = time.monotonic() + 120
    while not go.exists() and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    got: list[int] = []
    try:
        while True:
            async with db.transaction() as session:
                banked = await face_bank.claim(session, version, psi, max_shows)
            if banked is None:
                break
            got.append(banked.id)
    finally:
        await db.close()
    print(json.dumps(got))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), Path(sys.argv[5])))
