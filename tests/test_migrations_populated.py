"""Migrations on populated SQLite files: no row is lost going up to head and back down.

On SQLite a batch migration rebuilds a table (copy, DROP, rename); with foreign keys on, the DROP
cascades and empties the child tables. These tests start from a played database at every revision."""
from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text

from db import migrate
from tests.populated_db import connect, counts, foreign_key_problems, kept, narrowed, populate, snapshot

REVISIONS = [script.revision for script in
             reversed(list(ScriptDirectory.from_config(migrate.alembic_config("sqlite://")).walk_revisions()))]


def url_of(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def played_database(path: Path, revision: str) -> dict:
    migrate.upgrade(url_of(path), revision)
    populate(path)
    return snapshot(path)


@pytest.mark.parametrize("revision", REVISIONS)
def test_every_row_survives_upgrade_and_downgrade(tmp_path: Path, revision: str) -> None:
    path = tmp_path / "figment.db"
    before = played_database(path, revision)
    assert all(rows for _, rows in before.values()), "every table starts with rows"

    migrate.upgrade(url_of(path))
    assert kept(before, snapshot(path)) == []
    assert foreign_key_problems(path) == []

    migrate.downgrade(url_of(path), revision)
    after = snapshot(path)
    assert kept(before, after) == []
    assert set(after) == set(before)
    assert foreign_key_problems(path) == []


@pytest.mark.parametrize("revision", REVISIONS[:-1])
def test_a_played_head_database_keeps_its_rows_down_and_up(tmp_path: Path, revision: str) -> None:
    """From head down to an earlier revision and back: the rows of the tables and columns the
    earlier revision has all stay."""
    path = tmp_path / "figment.db"
    at_head = played_database(path, REVISIONS[-1])
    migrate.downgrade(url_of(path), revision)
    down = snapshot(path)
    expected = narrowed(at_head, down)
    assert set(expected) == set(down)
    assert kept(expected, down) == []
    assert foreign_key_problems(path) == []
    migrate.upgrade(url_of(path))
    assert kept(expected, snapshot(path)) == []
    assert foreign_key_problems(path) == []


def test_a_downgrade_past_game_modes_drops_pair_games_whole(tmp_path: Path) -> None:
    """0005's downgrade drops pair games (the old schema would read them as single ones); with
    foreign keys off nothing cascades, so their rounds and answers must go explicitly."""
    path = tmp_path / "figment.db"
    played_database(path, "0005")
    with connect(path) as connection:
        connection.execute("INSERT INTO games (id, chat_id, rounds_total, round_seconds, started_at, hard, mode) "
                           "VALUES (3, 1, 1, 20, '2026-11-27 10:00:00.000000', 0, 'pairs')")
        connection.execute("INSERT INTO rounds (id, game_id, chat_id, number, is_real, generated_face_id, "
                           "opened_at, closes_at, pair) VALUES (5, 3, 1, 1, 0, 2, '2026-11-27 10:00:00.000000', "
                           "'2026-11-27 10:00:20.000000', 1)")
        connection.execute("INSERT INTO answers (id, round_id, player_id, guess_real, correct, answered_at, "
                           "reaction_ms) VALUES (4, 5, 2, 0, 1, '2026-11-27 10:00:05.000000', 700)")
    played = counts(path)
    migrate.downgrade(url_of(path), "0004")
    assert foreign_key_problems(path) == []
    left = counts(path)
    assert (left["games"], left["rounds"], left["answers"]) == \
        (played["games"] - 1, played["rounds"] - 1, played["answers"] - 1)


def test_first_release_database_keeps_its_game(tmp_path: Path) -> None:
    """The reported case: a playground database of the first release (0001-0002), 3 rounds and
    2 answers in its played game, upgraded to head."""
    path = tmp_path / "figment.db"
    before = played_database(path, "0002")
    assert counts(path)["rounds"] == 4 and counts(path)["answers"] == 3
    migrate.upgrade(url_of(path))
    assert kept(before, snapshot(path)) == []


async def test_foreign_keys_are_on_for_the_bot_after_a_migration(tmp_path: Path) -> None:
    """Migrations run with foreign keys off; the bot's own connections must still cascade
    (/forgetme deletes a player's answers through them)."""
    from db.database import Database

    path = tmp_path / "figment.db"
    await asyncio.to_thread(played_database, path, "0002")
    db = Database(url_of(path))
    try:
        await db.ensure_schema()
        async with db.transaction() as session:
            assert (await session.execute(text("PRAGMA foreign_keys"))).scalar_one() == 1
            await session.execute(text("DELETE FROM players WHERE id = 1"))
        async with db.transaction() as session:
            left = dict((await session.execute(text(
                "SELECT player_id, COUNT(*) FROM answers GROUP BY player_id"))).all())
        assert left == {2: 1}  # player 1's answers went with them; the others' stay
    finally:
        await db.close()
    assert foreign_key_problems(path) == []


def test_a_migration_that_leaves_broken_references_is_rolled_back_whole(tmp_path: Path) -> None:
    """The foreign key check after the migrations fails the upgrade, and nothing of it stays:
    not the schema changes, not the version."""
    path = tmp_path / "figment.db"
    played_database(path, "0004")
    with connect(path) as connection:  # foreign keys off by default here: an orphan gets in
        connection.execute("INSERT INTO answers (id, round_id, player_id, guess_real, correct, answered_at, "
                           "reaction_ms) VALUES (9, 99, 1, 1, 1, '2026-11-26 10:00:00.000000', 1)")
    before = snapshot(path)
    with pytest.raises(RuntimeError, match="missing rows"):
        migrate.upgrade(url_of(path))
    assert snapshot(path) == before
    with connect(path) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchall() == [("0004",)]
