"""Upgrades copy the SQLite store first, and `figment db restore` puts a copy back: on real files,
through the real CLI and the bot's start-up path."""
from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest
from typer.testing import CliRunner

from bot.settings import get_settings
from db import backups, migrate
from tests.populated_db import connect, counts, foreign_key_problems, kept, populate, snapshot

REPO = Path(__file__).resolve().parent.parent
FIRST_RELEASE = "0002"


def url_of(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def first_release_database(data_dir: Path) -> Path:
    """A playground store as the first release left it: a played game (3 rounds, answers), scores."""
    path = data_dir / "figment.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(url_of(path), FIRST_RELEASE)
    populate(path)
    return path


def backups_of(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f"{path.name}.backup-*"))


def revision_of(path: Path) -> str:
    with connect(path) as connection:
        return connection.execute("SELECT version_num FROM alembic_version").fetchone()[0]


def figment(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPO),
           "FIGMENT_DATA_DIR": str(data_dir), "COLUMNS": "300"}
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], env=env, capture_output=True, text=True,
                          timeout=180, cwd=data_dir.parent)


@pytest.fixture
def cli_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """FIGMENT_DATA_DIR for the in-process CLI runner."""
    data_dir = tmp_path / "data"
    monkeypatch.setenv("FIGMENT_DATA_DIR", str(data_dir))
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield data_dir
    get_settings.cache_clear()


def test_db_upgrade_keeps_every_row_and_its_backup_restores(tmp_path: Path) -> None:
    path = first_release_database(tmp_path / "data")
    before = snapshot(path)

    upgraded = figment(path.parent, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    [backup] = backups_of(path)
    assert backup.name.startswith("figment.db.backup-") and backup.name.endswith(f"-{FIRST_RELEASE}")
    assert f"backed up the database to {backup}" in upgraded.stdout
    assert f"figment db restore {backup}" in upgraded.stdout
    assert revision_of(path) == migrate.head_revision(url_of(path))
    assert kept(before, snapshot(path)) == []
    assert foreign_key_problems(path) == []
    assert snapshot(backup) == before  # the backup is the store as it was

    populate_more(path)  # a game played after the upgrade: the restore must keep a copy of it
    played_after = snapshot(path)
    restored = figment(path.parent, "db", "restore", str(backup), "--yes")
    assert restored.returncode == 0, restored.stderr
    assert snapshot(path) == before and revision_of(path) == FIRST_RELEASE
    [kept_copy] = [p for p in backups_of(path) if p != backup]
    assert f"kept at {kept_copy}" in restored.stdout
    assert snapshot(kept_copy) == played_after


def populate_more(path: Path) -> None:
    with connect(path) as connection:
        connection.execute("INSERT INTO players (id, platform, platform_user_id, display_name, created_at) "
                           "VALUES (9, 'web', 'tab-9', 'Di', '2026-12-05 10:00:00.000000')")


async def test_start_up_upgrade_backs_up_first_and_loses_nothing(tmp_path: Path,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    """`figment run` and `figment demo` upgrade through Database.ensure_schema at start."""
    from db.database import Database

    path = await asyncio.to_thread(first_release_database, tmp_path / "data")
    before = snapshot(path)
    db = Database(url_of(path))
    try:
        with caplog.at_level(logging.INFO, logger="db.database"):
            await db.ensure_schema()
        await db.ensure_schema()  # at head now: nothing more to back up
    finally:
        await db.close()
    [backup] = backups_of(path)
    assert any(str(backup) in record.getMessage() and "figment db restore" in record.getMessage()
               for record in caplog.records)
    assert kept(before, snapshot(path)) == []
    assert counts(path)["rounds"] == 4 and counts(path)["answers"] == 3
    assert snapshot(backup) == before


async def test_no_backup_of_a_new_database(tmp_path: Path) -> None:
    from db.database import Database

    path = tmp_path / "data" / "figment.db"
    db = Database(url_of(path))
    try:
        await db.ensure_schema()
    finally:
        await db.close()
    assert backups_of(path) == []
    assert migrate.back_up_before_migrating("postgresql+asyncpg://figment@127.0.0.1/figment") is None


def test_a_backup_holds_commits_still_in_the_wal(tmp_path: Path) -> None:
    """The live store is in WAL mode: its latest commits may sit in figment.db-wal, which a copy of
    figment.db alone would miss. The backup API reads them."""
    path = first_release_database(tmp_path / "data")
    writer = sqlite3.connect(path)
    try:
        writer.execute("PRAGMA journal_mode=WAL")
        writer.execute("PRAGMA wal_autocheckpoint=0")
        with writer:
            writer.execute("INSERT INTO chats (id, platform, platform_chat_id, title, settings, created_at) "
                           "VALUES (7, 'web', 'late', 'Late', '{}', '2026-12-05 10:00:00.000000')")
        assert Path(f"{path}-wal").stat().st_size > 0
        backup = migrate.back_up_before_migrating(url_of(path))
        assert backup is not None
        with connect(backup) as copy:
            assert copy.execute("SELECT title FROM chats WHERE id = 7").fetchall() == [("Late",)]
            assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)  # one self-contained file
    finally:
        writer.close()


def not_figment(path: Path) -> None:
    with connect(path) as connection:
        connection.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")


@pytest.mark.parametrize(("make", "said"), [
    (None, "no such file"),
    (lambda p: p.write_text("players,answers\n1,2\n"), "not a SQLite database"),
    (lambda p: p.write_bytes(b""), "not a SQLite database"),
    (not_figment, "a SQLite database, but not a Figment one"),
])
def test_restore_refuses_what_is_not_a_figment_backup(cli_data: Path, make, said: str) -> None:  # type: ignore[no-untyped-def]
    from bot.cli import app

    path = first_release_database(cli_data)
    original = snapshot(path)
    offered = cli_data.parent / "offered.db"
    if make is not None:
        make(offered)
    result = CliRunner().invoke(app, ["db", "restore", str(offered), "--yes"])
    assert result.exit_code != 0
    assert f"error: cannot restore {offered}: {said}" in result.output
    assert "nothing was changed" in result.output and "Traceback" not in result.output
    assert snapshot(path) == original and revision_of(path) == FIRST_RELEASE and backups_of(path) == []


def test_restore_is_for_sqlite_only(cli_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.cli import app

    path = first_release_database(cli_data)
    backup = migrate.back_up_before_migrating(url_of(path))
    monkeypatch.setenv("FIGMENT_DATABASE_URL", "postgresql+asyncpg://figment:figment@127.0.0.1/figment_test")
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["db", "restore", str(backup), "--yes"])
    assert result.exit_code != 0 and "pg_restore" in result.output and "Traceback" not in result.output


def test_several_backups_are_all_kept_and_counted(tmp_path: Path) -> None:
    path = first_release_database(tmp_path / "data")
    first = migrate.back_up_before_migrating(url_of(path))
    second = migrate.upgrade_with_backup(url_of(path))
    assert first is not None and second is not None and first != second
    assert backups.backups_beside(path) == sorted([first, second])
    assert backups.pile_note(path).startswith(" (2 backups beside it")


def test_restore_asks_first_and_says_to_stop_the_bot(cli_data: Path) -> None:
    from bot.cli import app

    path = first_release_database(cli_data)
    backup = migrate.back_up_before_migrating(url_of(path))
    assert backup is not None
    migrate.upgrade(url_of(path))
    answered_no = CliRunner().invoke(app, ["db", "restore", str(backup)], input="n\n")
    assert answered_no.exit_code != 0
    assert "Stop every `figment run` and `figment demo`" in answered_no.output
    assert revision_of(path) == migrate.head_revision(url_of(path)) and backups_of(path) == [backup]
