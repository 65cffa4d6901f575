"""A second process on the face bank: claims faces until none is left, prints the ids it got."""
from __future__ import annotations

import asyncio
import json
import sys

from db import face_bank
from db.database import Database


async def main(url: str, version: str, psi: float, max_shows: int) -> None:
    db = Database(url)
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
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])))
