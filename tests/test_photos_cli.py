"""`figment photos ...` as an operator uses it: import, list, stats, remove, Ctrl-C and resume."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from db.database import Database
from bot.settings import get_settings
from db.models import RealPhoto
from tests.photo_samples import REPO, copy_photo, needs_faces, shared_photos, write

pytestmark = needs_faces


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from bot.cli import app

    monkeypatch.setenv("FIGMENT_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    runner = CliRunner()
    yield lambda *args: runner.invoke(app, list(args))
    get_settings.cache_clear()


def rows_of(data_dir: Path) -> list[RealPhoto]:
    async def read() -> list[RealPhoto]:
        database = Database(f"sqlite+aiosqlite:///{(data_dir / 'figment.db').resolve()}")
        try:
            async with database.transaction() as session:
                return list((await session.execute(select(RealPhoto))).scalars())
        finally:
            await database.close()

    return asyncio.run(read())


def test_import_list_stats_remove(cli, tmp_path: Path) -> None:
    folder = tmp_path / "pack"
    for photo in shared_photos("celeba-6k", 3, 30):
        copy_photo(photo, folder / photo.parent.name / photo.name)
    write(folder / "broken.jpg", b"\xff\xd8\xff\xe0 not really")

    result = cli("photos", "import", str(folder), "--pack", "stars", "--source", "CelebA", "--licence",
                 "research only", "--workers", "1")
    assert result.exit_code == 0, result.output
    assert "imported" in result.output and "rejected: unreadable" in result.output
    assert "4 photo files, 4 processed" in result.output

    result = cli("photos", "list")
    assert result.exit_code == 0 and "stars" in result.output and "CelebA" in result.output

    sheet = tmp_path / "data" / "sheet.png"
    result = cli("photos", "stats", "--framing", "3", "--sheet", str(sheet))
    assert result.exit_code == 0, result.output
    assert "canonical" in result.output and "unreadable 1" in result.output and sheet.is_file()

    result = cli("photos", "remove", "stars", "--yes")
    assert result.exit_code == 0 and "removed pack stars: 3 photos" in result.output
    assert rows_of(tmp_path / "data") == [] and not (tmp_path / "data" / "photos" / "stars").exists()


def test_bad_input_gives_clear_errors(cli, tmp_path: Path) -> None:
    result = cli("photos", "import", str(tmp_path / "nowhere"), "--pack", "p")
    assert result.exit_code == 2 and "not found" in result.output
    result = cli("photos", "import", str(tmp_path), "--pack", "../up")
    assert result.exit_code == 2 and "bad pack name" in result.output
    result = cli("photos", "import", str(tmp_path), "--pack", "p", "--size", "64")  # below the quiz's detail
    assert result.exit_code == 2 and "--size" in result.output
    result = cli("photos", "remove", "ghost", "--yes")
    assert result.exit_code == 2 and "no pack named 'ghost'" in result.output
    result = cli("photos", "stats", "ghost")
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_ctrl_c_then_resume(tmp_path: Path) -> None:
    """A real Ctrl-C (SIGINT to the process group) in the middle, then the same command again."""
    folder = tmp_path / "in"
    photos = shared_photos("all-age-faces", 12, 500)
    for photo in photos:
        copy_photo(photo, folder / photo.name)
    data = tmp_path / "data"
    env = {**os.environ, "FIGMENT_DATA_DIR": str(data)}
    command = [sys.executable, "-m", "bot.cli", "photos", "import", str(folder), "--pack", "p", "--workers", "2"]
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list((data / "photos" / "p").glob("*.png"))) < 3:
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGINT)
    output = process.communicate(timeout=60)[0].decode()
    assert process.returncode == 130, output
    assert "interrupted: run the same command again to resume" in output
    first = len(rows_of(data))
    assert 1 <= first < 12

    again = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    rows = rows_of(data)
    assert len(rows) == len({r.content_hash for r in rows}) == len({r.source_path for r in rows})
    assert len(rows) >= 11 and len(rows) > first
