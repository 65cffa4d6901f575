"""Copies of a SQLite store, taken before a migration and put back on request.

Both directions go through SQLite's online backup API, never a file copy: the live store is in WAL
mode, so its file alone may lack the latest commits, and a bot may be writing while it is read.
Backups are never deleted here: an operator removes the ones they no longer need."""
from __future__ import annotations

import os
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy.engine import make_url

from db.engine import BUSY_TIMEOUT_MS, is_sqlite

SQLITE_MAGIC = b"SQLite format 3\x00"
FIGMENT_TABLES = {"alembic_version", "players", "chats", "games", "rounds", "answers"}


class NotARestorableFile(ValueError):
    """The file offered to restore is missing, not SQLite, or not a Figment store."""


def sqlite_file(url: str) -> Path | None:
    """The file behind a SQLite URL; None for PostgreSQL or an in-memory database."""
    if not is_sqlite(url):
        return None
    database = make_url(url).database
    return Path(database) if database and database != ":memory:" else None


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)


def schema_revision(path: Path) -> tuple[bool, str | None]:
    """(whether the file has any table, its Alembic revision or None). A missing file has neither."""
    if not path.is_file() or path.stat().st_size == 0:
        return False, None
    connection = _connect(path)
    try:
        names = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        revision = None
        if "alembic_version" in names:
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
            revision = row[0] if row else None
        return bool(names), revision
    finally:
        connection.close()


def backup_name(path: Path, revision: str | None, when: datetime | None = None) -> Path:
    """figment.db -> figment.db.backup-20261205-195100-0007 beside it (UTC), never an existing name."""
    stamp = (when or datetime.now(timezone.utc)).strftime("%Y%m%d-%H%M%S")
    base = path.with_name(f"{path.name}.backup-{stamp}-{revision or 'none'}")
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of `source` as one self-contained file (rollback journal, no -wal beside it).
    Written under a temporary name first, so a copy cut short never carries the backup's name."""
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        reader, writer = _connect(source), _connect(partial)
        try:
            reader.backup(writer)
            writer.execute("PRAGMA journal_mode=DELETE")
        finally:
            writer.close()
            reader.close()
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def backups_beside(path: Path) -> list[Path]:
    """The backups of `path` kept beside it, oldest first."""
    return sorted(p for p in path.parent.glob(f"{path.name}.backup-*") if not p.name.endswith(".partial"))


def pile_note(path: Path) -> str:
    """How many backups lie beside `path` and their size, when there is more than one."""
    kept = backups_beside(path)
    if len(kept) < 2:
        return ""
    size = sum(p.stat().st_size for p in kept) / 1e6
    return f" ({len(kept)} backups beside it, {size:.1f} MB; none is ever deleted: remove old ones you no longer need)"


def back_up(path: Path, revision: str | None) -> Path:
    target = backup_name(path, revision)
    copy_database(path, target)
    return target


def restorable_revision(path: Path) -> str:
    """The migration a file to restore is at; NotARestorableFile if it is not a Figment SQLite store."""
    if not path.exists():
        raise NotARestorableFile(f"{path}: no such file")
    if not path.is_file():
        raise NotARestorableFile(f"{path}: not a file")
    with path.open("rb") as handle:
        if handle.read(len(SQLITE_MAGIC)) != SQLITE_MAGIC:
            raise NotARestorableFile(f"{path}: not a SQLite database")
    try:
        connection = _connect(path)
        try:
            names = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not FIGMENT_TABLES <= names:
                raise NotARestorableFile(f"{path}: a SQLite database, but not a Figment one "
                                         f"(no {', '.join(sorted(FIGMENT_TABLES - names))} table)")
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
            (check,) = connection.execute("PRAGMA quick_check").fetchone()
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        raise NotARestorableFile(f"{path}: cannot be read as a SQLite database ({error})") from error
    if check != "ok":
        raise NotARestorableFile(f"{path}: damaged ({check})")
    if row is None:
        raise NotARestorableFile(f"{path}: a Figment database without a migration version")
    return str(row[0])


def restore(source: Path, target: Path) -> Path | None:
    """Put `source` (checked first) in place of `target`, through the backup API. The file being
    replaced is copied beside itself first; that copy's path is returned (None if there was none)."""
    restorable_revision(source)
    if target.exists() and source.resolve() == target.resolve():
        raise NotARestorableFile(f"{source}: it is the database itself")
    has_tables, revision = schema_revision(target)
    kept = back_up(target, revision) if has_tables else None
    target.parent.mkdir(parents=True, exist_ok=True)
    reader, writer = _connect(source), _connect(target)
    try:
        reader.backup(writer)
        writer.execute("PRAGMA journal_mode=WAL")  # as the bot keeps it (db.engine)
    finally:
        writer.close()
        reader.close()
    return kept
