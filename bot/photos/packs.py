"""Photo packs in the database: list them, count them, remove one (rows and files)."""
from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete, distinct, func, select

from db.database import Database
from bot.photos.split import HELDOUT, TRAIN
from bot.photos.store import Journal, check_pack_name, import_lock, pack_dir
from db.models import RealPhoto


@dataclass
class PackInfo:
    pack: str
    photos: int
    train: int
    heldout: int
    identities: int
    source: str
    licence: str
    rejects: Counter[str] = field(default_factory=Counter)


async def pack_infos(db_url: str, data_dir: Path, pack: str | None = None) -> list[PackInfo]:
    database = Database(db_url)
    try:
        await database.ensure_schema()
        async with database.transaction() as session:
            query = (select(RealPhoto.pack, RealPhoto.split, func.count(), func.count(distinct(RealPhoto.identity)),
                            func.max(RealPhoto.source), func.max(RealPhoto.licence))
                     .group_by(RealPhoto.pack, RealPhoto.split).order_by(RealPhoto.pack))
            if pack is not None:
                query = query.where(RealPhoto.pack == pack)
            rows = (await session.execute(query)).all()
    finally:
        await database.close()
    infos: dict[str, PackInfo] = {}
    for name, split, count, identities, source, licence in rows:
        info = infos.setdefault(name, PackInfo(name, 0, 0, 0, 0, source or "", licence or ""))
        info.photos += count
        info.identities += identities
        if split == TRAIN:
            info.train += count
        elif split == HELDOUT:
            info.heldout += count
    for info in infos.values():
        info.rejects = Counter(Journal(data_dir, info.pack).read().values())
    return list(infos.values())


async def remove_pack(db_url: str, data_dir: Path, pack: str) -> int:
    """Delete the pack's rows (quiz rounds keep their answers, losing the photo link) and files."""
    check_pack_name(pack)
    with import_lock(data_dir):  # never under an import that is writing the pack's files
        database = Database(db_url)
        try:
            await database.ensure_schema()
            async with database.transaction() as session:
                removed = (await session.execute(delete(RealPhoto).where(RealPhoto.pack == pack))).rowcount
        finally:
            await database.close()
        folder = pack_dir(data_dir, pack)
        if folder.exists():
            shutil.rmtree(folder)
    return int(removed or 0)


async def photo_rows(db_url: str, packs: list[str] | None = None) -> list[RealPhoto]:
    """Every photo of the packs (all packs when none named), in id order."""
    database = Database(db_url)
    try:
        await database.ensure_schema()
        async with database.transaction() as session:
            query = select(RealPhoto).order_by(RealPhoto.id)
            if packs:
                query = query.where(RealPhoto.pack.in_(packs))
            return list((await session.execute(query)).scalars())
    finally:
        await database.close()
