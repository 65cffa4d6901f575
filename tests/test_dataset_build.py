"""`figment dataset build`: every held-out face in, train faces to the byte budget, seeded."""
from __future__ import annotations

import asyncio
import json
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from db.database import Database
from bot.photos.dataset import DatasetOptions, build_dataset, encode_face
from bot.photos.packs import photo_rows
from bot.settings import Settings, get_settings
from db.models import RealPhoto
from generator.training.archive import HELDOUT, TRAIN, load_archive, read_meta
from tests.conftest import SHARED_FACES
from tests.photo_samples import noise_image


def make_settings(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path / "data")  # type: ignore[call-arg]


async def add_faces(settings: Settings, pack: str, count: int, heldout_every: int) -> None:
    """Stored 256 px 'aligned faces' (smooth noise: no real photo needed) with their rows."""
    database = Database(settings.db_url)
    await database.ensure_schema()
    try:
        async with database.transaction() as session:
            for index in range(count):
                relative = f"photos/{pack}/{index:04d}.png"
                path = settings.data_dir / relative
                path.parent.mkdir(parents=True, exist_ok=True)
                noise_image(32, seed=index + 1000 * len(pack)).resize((256, 256), Image.Resampling.BICUBIC).save(path)
                session.add(RealPhoto(pack=pack, source_path=f"/src/{pack}/{index}.jpg", content_hash=f"{pack}{index}",
                                      stored_path=relative,
                                      split="heldout" if index % heldout_every == 0 else "train"))
    finally:
        await database.close()


@pytest.fixture(scope="module")
def faces(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = make_settings(tmp_path_factory.mktemp("faces"))

    async def fill() -> None:
        await add_faces(settings, "alpha", 40, 5)   # 8 held out
        await add_faces(settings, "beta", 20, 10)   # 2 held out

    asyncio.run(fill())
    return settings


def build(settings: Settings, out: Path, extra: list[RealPhoto] | None = None, **options: object) -> dict:
    rows = asyncio.run(photo_rows(settings.db_url)) + (extra or [])
    return build_dataset(rows, settings.data_dir, DatasetOptions(out, workers=1, **options))  # type: ignore[arg-type]


def test_all_held_out_in_and_train_fills_the_budget(faces: Settings, tmp_path: Path) -> None:
    out = tmp_path / "set.npz"
    meta = build(faces, out, res=32, quality=85, max_bytes=64 * 1024 + 25 * 700)
    assert out.stat().st_size == meta["bytes"] <= 64 * 1024 + 25 * 700
    assert meta["per_source"]["alpha"]["heldout"] == 8 and meta["per_source"]["beta"]["heldout"] == 2
    assert 0 < meta["train"] < 50  # the budget cut the train part short
    assert (meta["resolution"], meta["quality"], meta["seed"]) == (32, 85, 0)
    held = load_archive(out, split=HELDOUT)
    train = load_archive(out, split=TRAIN)
    assert held.images.shape == (10, 32, 32, 3) and train.images.shape[0] == meta["train"]
    assert read_meta(out)["count"] == meta["count"]


def test_same_seed_same_archive_other_seed_other_faces(faces: Settings, tmp_path: Path) -> None:
    budget = dict(res=32, max_bytes=64 * 1024 + 30 * 700)
    first, second = build(faces, tmp_path / "a.npz", **budget), build(faces, tmp_path / "b.npz", **budget)
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    build(faces, tmp_path / "c.npz", seed=1, **budget)
    a = load_archive(tmp_path / "a.npz").images
    c = load_archive(tmp_path / "c.npz").images
    assert first["count"] == second["count"]
    assert a.shape != c.shape or not np.array_equal(a, c)


def test_everything_fits_when_the_budget_allows(faces: Settings, tmp_path: Path) -> None:
    meta = build(faces, tmp_path / "all.npz", res=64)
    assert (meta["train"], meta["heldout"]) == (50, 10)
    assert meta["available"] == {"alpha": {"train": 32, "heldout": 8}, "beta": {"train": 18, "heldout": 2}}


def test_held_out_that_does_not_fit_is_an_error(faces: Settings, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="held-out faces alone"):
        build(faces, tmp_path / "x.npz", res=64, max_bytes=64 * 1024 + 2000)
    assert not (tmp_path / "x.npz").exists()


def test_missing_face_files_are_skipped_and_counted(faces: Settings, tmp_path: Path) -> None:
    gone = RealPhoto(pack="beta", stored_path="photos/beta/gone.png", split="train")
    meta = build(faces, tmp_path / "m.npz", extra=[gone], res=32)
    assert meta["missing"] == 1 and meta["count"] == 60


def test_cli_builds_and_refuses_unknown_packs(faces: Settings, tmp_path: Path, monkeypatch) -> None:
    from bot.cli import app

    monkeypatch.setenv("FIGMENT_DATA_DIR", str(faces.data_dir))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        result = runner.invoke(app, ["dataset", "build", "--packs", "alpha,nope"])
        assert result.exit_code == 2 and "no pack named nope" in result.output
        out = tmp_path / "cli.npz"
        result = runner.invoke(app, ["dataset", "build", "--packs", "beta", "--res", "32", "--out", str(out),
                                     "--workers", "1"])
        assert result.exit_code == 0, result.output
        assert "20 faces (18 train, 2 held out) at 32 px" in result.output
        assert read_meta(out)["packs"] == ["beta"]
        result = runner.invoke(app, ["dataset", "build", "--res", "4"])
        assert result.exit_code == 2
        result = runner.invoke(app, ["dataset", "build", "--res", "32", "--out", str(tmp_path), "--workers", "1"])
        assert result.exit_code == 2 and "Is a directory" in result.output  # --out names a folder
        assert not tmp_path.with_name(tmp_path.name + ".part").exists()
    finally:
        get_settings.cache_clear()


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(((a.astype(np.float64) - b) ** 2).mean())
    return 10 * np.log10(255 ** 2 / max(mse, 1e-12))


def test_shards_hold_every_face_within_their_budget_and_read_back(faces: Settings, tmp_path: Path) -> None:
    shard = 64 * 1024 + 12 * 1024  # a dozen-odd faces a shard
    meta = build(faces, tmp_path / "shards", res=64, shard_bytes=shard)
    files = sorted((tmp_path / "shards").glob("*.npz"))
    assert len(files) > 2 and all(p.stat().st_size <= shard for p in files)
    assert (meta["count"], meta["train"], meta["heldout"]) == (60, 50, 10) and meta["codec"] == "webp"
    assert read_meta(tmp_path / "shards")["count"] == 60
    held = load_archive(tmp_path / "shards", split=HELDOUT)
    train = load_archive(tmp_path / "shards", split=TRAIN)
    assert held.images.shape == (10, 64, 64, 3) and train.images.shape == (50, 64, 64, 3)
    first = read_meta(files[0])
    assert first["heldout"] == first["count"] > 0  # held-out faces come first
    # every face reads back exactly as encoded
    rows = asyncio.run(photo_rows(faces.db_url))
    encoded = sorted(np.asarray(Image.open(io.BytesIO(encode_face(str(faces.data_dir / r.stored_path), 64, 80))))
                     .tobytes() for r in rows if r.split == "heldout")
    assert sorted(image.tobytes() for image in held.images) == encoded
    one = build(faces, tmp_path / "one.npz", res=64, codec="jpeg", quality=85)
    assert one["codec"] == "jpeg" and np.abs(load_archive(tmp_path / "one.npz", split=HELDOUT).images.astype(int)
                                             - held.images).mean() < 8


def test_bad_codec_and_tiny_shards_are_refused(faces: Settings, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="codec"):
        build(faces, tmp_path / "x.npz", res=32, codec="gif")
    with pytest.raises(ValueError, match="shard"):
        build(faces, tmp_path / "y", res=32, shard_bytes=1000)
    assert not (tmp_path / "y").exists()


@pytest.mark.skipif(not SHARED_FACES.is_dir(), reason="needs ../shared/faces")
def test_webp_80_keeps_real_faces_within_the_stated_tolerance() -> None:
    # Measured on 2,000 aligned held-out faces: 36.8 dB on average (README); here 40 photos as they come.
    files = sorted((SHARED_FACES / "celeba-6k").rglob("*.jpg"))[:40]
    values = []
    for path in files:
        with Image.open(path) as image:
            source = np.asarray(image.convert("RGB").resize((128, 128), Image.Resampling.LANCZOS))
        decoded = np.asarray(Image.open(io.BytesIO(encode_face(str(path), 128, 80))).convert("RGB"))
        values.append(psnr(decoded, source))
    assert len(values) == 40 and np.mean(values) > 34 and min(values) > 30


def test_codec_bench_reports_every_codec(tmp_path: Path) -> None:
    from generator.bench.codec import main
    from tests.fakes import DrawnFaceModel

    for seed, image in enumerate(DrawnFaceModel(128).generate(list(range(20)), 1.0)):
        image.save(tmp_path / f"{seed:02d}.png")
    assert main(["--faces", str(tmp_path), "--n", "20", "--workers", "1", "--out", str(tmp_path / "r.json")]) == 0
    report = json.loads((tmp_path / "r.json").read_text())
    webp, jpeg = report["codecs"]["webp 80"], report["codecs"]["jpeg 85"]
    assert report["faces"] == 20 and 0 < webp["bytes"] and webp["psnr_db"] > 25 and webp["fd_face_cost"] >= 0
    assert jpeg["bytes"] > 0 and "webp 90" in report["codecs"]
    assert main(["--faces", str(tmp_path / "none"), "--n", "5"]) == 2  # no images: a clear error
