"""Photo import end to end on a real SQLite file: bad inputs, duplicates, odd paths, resume."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from db.database import Database
from bot.photos import reasons
from bot.photos.importer import ImportOptions, import_photos
from bot.photos.packs import remove_pack
from bot.photos.process import AlignOptions
from bot.photos.store import ImportRunning, import_lock
from bot.settings import Settings
from db.models import RealPhoto
from tests.photo_samples import (copy_photo, jpeg_bytes, link, needs_faces, no_face_photo, png_bomb, png_of,
                                 recompressed, shared_photos, three_faces_photo, truncated_jpeg, write)

pytestmark = needs_faces


def make_settings(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path / "data")  # type: ignore[call-arg]


async def stored_rows(settings: Settings, pack: str | None = None) -> list[RealPhoto]:
    database = Database(settings.db_url)
    try:
        async with database.transaction() as session:
            query = select(RealPhoto).order_by(RealPhoto.id)
            if pack:
                query = query.where(RealPhoto.pack == pack)
            return list((await session.execute(query)).scalars())
    finally:
        await database.close()


async def run_import(settings: Settings, sources: list[Path], pack: str = "test", **options: object):
    return await import_photos(settings.db_url, settings.data_dir, sources,
                               ImportOptions(pack, "test source", "test licence", workers=1, **options))


async def test_bad_inputs_are_rejected_with_their_reason(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    good = shared_photos("utkface-crop", 2)
    folder = tmp_path / "in"
    copy_photo(good[0], folder / "good.jpg")
    copy_photo(good[1], folder / "other good.jpg")
    write(folder / "truncated.jpg", truncated_jpeg(shared_photos("celeba-6k", 1)[0]))
    write(folder / "bomb.png", png_bomb())
    write(folder / "notes.jpg", b"these are my holiday notes, not a photo\n")
    write(folder / "landscape.jpg", jpeg_bytes(no_face_photo()))
    write(folder / "group.jpg", jpeg_bytes(three_faces_photo()))
    copy_photo(good[0], folder / "copy of good.jpg")
    write(folder / "good-smaller.jpg", recompressed(good[0]))
    write(folder / "readme.txt", b"not a photo name: ignored")
    write(folder / "strip.png", png_of(Image.new("RGB", (1, 10_000), "grey")))  # shrinks to zero width
    link(folder / "outside.jpg", shared_photos("all-age-faces", 1)[0])  # leads out of the source

    summary = await run_import(settings, [folder])

    by_name = {Path(row.source_path).name: row for row in await stored_rows(settings)}
    # Files are taken in name order: the first of the two identical files is the one imported.
    assert set(by_name) == {"copy of good.jpg", "other good.jpg"}
    assert summary.imported == 2
    assert summary.rejects == Counter({
        reasons.UNREADABLE: 1, reasons.TOO_LARGE: 1, reasons.NOT_AN_IMAGE: 1, reasons.NO_FACE: 2,
        reasons.SEVERAL_FACES: 1, reasons.DUPLICATE: 1, reasons.NEAR_DUPLICATE: 1})
    assert summary.other_files == 1 and summary.links_outside == 1
    # Provenance and the stored aligned face.
    row = by_name["copy of good.jpg"]
    assert (row.pack, row.source, row.licence) == ("test", "test source", "test licence")
    assert row.source_path == str(folder / "copy of good.jpg")
    assert row.split in ("train", "heldout") and row.identity is None
    with Image.open(settings.data_dir / row.stored_path) as face:
        assert face.size == (256, 256) and face.mode == "RGB"


async def test_rerun_adds_nothing_and_packs_share_dedup(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    photos = shared_photos("celeba-6k", 3)
    first = await run_import(settings, photos)
    again = await run_import(settings, photos)
    assert first.imported == 3
    assert (again.imported, again.seen_before, sum(again.rejects.values())) == (0, 3, 0)
    # The same photos under another pack are duplicates too: nothing is shown or trained on twice.
    other = await run_import(settings, photos, pack="other")
    assert other.imported == 0 and other.rejects == Counter({reasons.DUPLICATE: 3})
    assert len(await stored_rows(settings)) == 3


async def test_path_with_spaces_and_unicode(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    path = copy_photo(shared_photos("all-age-faces", 1, 5)[0], tmp_path / "my photos" / "Zoë ünï 写真" / "a b ç.JPG")
    summary = await run_import(settings, [tmp_path / "my photos"])
    rows = await stored_rows(settings)
    assert summary.imported == 1 and rows[0].source_path == str(path)
    assert rows[0].identity == "Zoë ünï 写真"  # a subfolder is an identity
    assert (settings.data_dir / rows[0].stored_path).is_file()


async def test_identity_folders_are_held_out_together(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    root = tmp_path / "celebs"
    for folder in sorted((Path(shared_photos("celeba-6k", 1)[0]).parent.parent).iterdir())[:4]:
        for photo in sorted(folder.iterdir())[:2]:
            copy_photo(photo, root / folder.name / photo.name)
    await run_import(settings, [root], heldout=0.5, split_seed=3)
    splits: dict[str, set[str]] = {}
    for row in await stored_rows(settings):
        splits.setdefault(row.identity or "", set()).add(row.split)
    assert len(splits) == 4 and all(len(s) == 1 for s in splits.values())


async def test_interrupted_import_resumes_without_doubles(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    folder = tmp_path / "in"
    for photo in shared_photos("utkface-crop", 6, 100):
        copy_photo(photo, folder / photo.name)
    write(folder / "notes.jpg", b"not a photo")

    def stop_after_three(done: int, total: int) -> None:
        if done == 3:
            raise KeyboardInterrupt  # what Ctrl-C does in the middle of an import

    first = await import_photos(settings.db_url, settings.data_dir, [folder],
                                ImportOptions("test", workers=1), stop_after_three)
    assert first.interrupted and first.processed == 3
    assert len(await stored_rows(settings)) + sum(first.rejects.values()) == 3

    second = await run_import(settings, [folder])
    assert not second.interrupted and second.seen_before == 3
    rows = await stored_rows(settings)
    assert len(rows) == len({r.content_hash for r in rows}) == first.imported + second.imported
    assert first.processed + second.processed == 7
    assert sum(first.rejects.values()) + sum(second.rejects.values()) == 1 + (6 - len(rows))


async def test_bad_pack_name_and_share(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    with pytest.raises(ValueError, match="pack name"):
        await run_import(settings, [tmp_path], pack="../evil")
    with pytest.raises(ValueError, match="held-out share"):
        await run_import(settings, [tmp_path], heldout=1.5)


async def test_one_import_at_a_time(tmp_path: Path) -> None:
    # Two imports at once would race on files and rows and miss each other's duplicates
    # (a photo could be held out in one pack and trained on in another): the second is refused.
    settings = make_settings(tmp_path)
    photos = shared_photos("celeba-6k", 1)
    with import_lock(settings.data_dir):
        with pytest.raises(ImportRunning, match="another photo import"):
            await run_import(settings, photos, pack="second")
        with pytest.raises(ImportRunning):
            await remove_pack(settings.db_url, settings.data_dir, "second")
    assert (await run_import(settings, photos)).imported == 1  # the lock went with its holder


async def test_an_oversized_file_is_not_read(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    photo = shared_photos("celeba-6k", 1)[0]
    limit = photo.stat().st_size - 1
    summary = await run_import(settings, [photo], align=AlignOptions(max_file_bytes=limit))
    assert summary.imported == 0 and summary.rejects == Counter({reasons.TOO_LARGE: 1})
