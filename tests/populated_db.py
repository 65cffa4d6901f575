"""A played database at any migration, written with raw SQL, and snapshots of every row in it.

Each table's rows name every column it has had at any revision; `populate` writes only the columns
the table has at the database's revision, so one data set fits every schema."""
from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

Row = dict[str, Any]
Snapshot = dict[str, list[tuple[Any, ...]]]

T0 = "2026-11-26 10:00:00.000000"
T1 = "2026-11-26 10:00:20.000000"
T2 = "2026-11-26 10:01:00.000000"
LONG_PATH = "photos/" + "x" * 1500 + ".png"  # past the first release's VARCHAR(1024)

# Parents before children, so the rows go in with foreign keys on.
ROWS: dict[str, list[Row]] = {
    "chats": [
        dict(id=1, platform="web", platform_chat_id="playground", title="Playground",
             settings='{"round_seconds": 20}', created_at=T0),
        dict(id=2, platform="telegram", platform_chat_id="-100123", title="Friends", settings="{}", created_at=T0),
    ],
    "players": [
        dict(id=1, platform="web", platform_user_id="tab-1", display_name="Ada", created_at=T0),
        dict(id=2, platform="web", platform_user_id="tab-2", display_name="Bo", created_at=T0),
        dict(id=3, platform="telegram", platform_user_id="42", display_name="Cy", created_at=T0),
    ],
    "generated_faces": [
        dict(id=1, seed=2**40 + 7, truncation=0.7, model_version="figment-128-v1", created_at=T0),
        dict(id=2, seed=12345, truncation=1.0, model_version="figment-128-v1", created_at=T0),
    ],
    "real_photos": [
        dict(id=1, pack="celeba", source_path=LONG_PATH, source="CelebA", licence="research only",
             content_hash="a" * 64, perceptual_hash=-(2**62) + 5, stored_path="packs/celeba/1.png",
             identity="person-1", split="quiz", created_at=T0),
        dict(id=2, pack="celeba", source_path="b.png", source="CelebA", licence="research only",
             content_hash="b" * 64, perceptual_hash=99, stored_path="packs/celeba/2.png",
             identity=None, split="quiz", created_at=T0),
    ],
    "games": [
        dict(id=1, chat_id=1, active_chat_id=None, started_by=1, rounds_total=3, round_seconds=20,
             started_at=T0, ended_at=T2, hard=0, mode="single", owner=None, lease_until=None,
             stop_requested=0, summary_due=None),
        dict(id=2, chat_id=2, active_chat_id=2, started_by=3, rounds_total=5, round_seconds=30,
             started_at=T1, ended_at=None, hard=1, mode="single", owner="host-a:1234", lease_until=T2,
             stop_requested=0, summary_due='{"rounds": 1}'),
    ],
    "rounds": [
        dict(id=1, game_id=1, chat_id=1, number=1, is_real=1, generated_face_id=None, real_photo_id=1,
             opened_at=T0, closes_at=T1, closed_at=T1, revealed_at=T1, message_ref="m-1", pair=0),
        dict(id=2, game_id=1, chat_id=1, number=2, is_real=0, generated_face_id=1, real_photo_id=None,
             opened_at=T1, closes_at=T2, closed_at=T2, revealed_at=T2, message_ref="m-2", pair=0),
        dict(id=3, game_id=1, chat_id=1, number=3, is_real=0, generated_face_id=2, real_photo_id=None,
             opened_at=T1, closes_at=T2, closed_at=T2, revealed_at=T2, message_ref=None, pair=0),
        dict(id=4, game_id=2, chat_id=2, number=1, is_real=1, generated_face_id=None, real_photo_id=2,
             opened_at=T2, closes_at=T2, closed_at=None, revealed_at=None, message_ref="77", pair=0),
    ],
    "answers": [
        dict(id=1, round_id=1, player_id=1, guess_real=1, correct=1, answered_at=T1, reaction_ms=1830),
        dict(id=2, round_id=2, player_id=1, guess_real=1, correct=0, answered_at=T2, reaction_ms=2400),
        dict(id=3, round_id=2, player_id=2, guess_real=0, correct=1, answered_at=T2, reaction_ms=900),
    ],
    "scores": [
        dict(id=1, scope="all", period="all", player_id=1, answers=2, correct=1, streak=0, best_streak=1,
             wilson=0.0945),
        dict(id=2, scope="chat:1", period="2026-W48", player_id=1, answers=2, correct=1, streak=0,
             best_streak=1, wilson=0.0945),
        dict(id=3, scope="all", period="all", player_id=2, answers=1, correct=1, streak=1, best_streak=1,
             wilson=0.2065),
    ],
    "fool_counts": [dict(id=1, model_version="figment-128-v1", truncation=0.7, answers=2, fooled=1)],
    "face_fools": [
        dict(id=1, generated_face_id=1, period="all", answers=2, fooled=1, wilson=0.0945),
        dict(id=2, generated_face_id=1, period="2026-W48", answers=2, fooled=1, wilson=0.0945),
    ],
    "daily_challenges": [dict(day="2026-11-26", number=5, plan='[{"real": true}]', created_at=T0)],
    "daily_plays": [dict(id=1, day="2026-11-26", player_id=3, next_number=2, correct=1, marks="+",
                         started_at=T0, finished_at=None)],
    "rate_limit_hits": [dict(kind="quiz", key="telegram:42", hits="[1.5, 2.5]", touched_at=2.5)],
    "seen_updates": [dict(platform="telegram", update_id="9001", seen_at=T0, done=1)],
    "face_bank": [
        dict(id=1, model_version="figment-128-v1", seed=2**32 - 1, psi=0.85, mode="mean", score=3.25, shown=1,
             created_at=T0, last_shown_at=T1),
        dict(id=2, model_version="figment-128-v0", seed=17, psi=0.85, mode="centres", score=-0.5, shown=0,
             created_at=T0, last_shown_at=None),
    ],
}


@contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    """Commits on success and closes (sqlite3's own `with` only commits): no connection stays open
    on the file after a helper returns."""
    connection = sqlite3.connect(path)
    try:
        with connection:
            yield connection
    finally:
        connection.close()


def tables(path: Path) -> list[str]:
    with connect(path) as connection:
        names = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                   "AND name NOT LIKE 'sqlite_%' AND name <> 'alembic_version'").fetchall()
    return sorted(name for (name,) in names)


def populate(path: Path, rows: dict[str, list[Row]] = ROWS) -> None:
    """Insert the rows of every table the database has, in the columns it has at its revision."""
    present = set(tables(path))
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA foreign_keys = ON")  # the rows must be consistent to begin with
        with connection:
            for table, table_rows in rows.items():
                if table not in present:
                    continue
                columns = [name for _, name, *_ in connection.execute(f"PRAGMA table_info({table})")]
                for row in table_rows:
                    missing = [column for column in columns if column not in row]
                    assert not missing, f"test data for {table} lacks {missing}"
                    connection.execute(f"INSERT INTO {table} ({', '.join(columns)}) "
                                       f"VALUES ({', '.join('?' * len(columns))})", [row[c] for c in columns])
    finally:
        connection.close()


def snapshot(path: Path) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    """Every table's columns and rows (sorted, so a table copy that renumbers rowids still matches)."""
    found = {}
    with connect(path) as connection:
        for table in tables(path):
            cursor = connection.execute(f"SELECT * FROM {table}")
            columns = [description[0] for description in cursor.description]
            found[table] = (columns, sorted(cursor.fetchall(), key=repr))
    return found


def kept(before: dict, after: dict) -> list[str]:
    """What of `before` is missing or changed in `after` (columns added later are ignored)."""
    problems = []
    for table, (columns, rows) in before.items():
        if table not in after:
            problems.append(f"{table}: table gone ({len(rows)} rows)")
            continue
        later_columns, later_rows = after[table]
        if missing := [column for column in columns if column not in later_columns]:
            problems.append(f"{table}: columns gone {missing}")
            continue
        index = [later_columns.index(column) for column in columns]
        projected = sorted((tuple(row[i] for i in index) for row in later_rows), key=repr)
        if projected != rows:
            problems.append(f"{table}: {len(rows)} rows before, {len(projected)} after; "
                            f"lost {[r for r in rows if r not in projected]}")
    return problems


def narrowed(before: dict, shape: dict) -> dict:
    """`before` cut down to the tables and columns of `shape` (a snapshot at an earlier revision)."""
    cut = {}
    for table, (columns, rows) in before.items():
        if table in shape:
            keep = [columns.index(column) for column in shape[table][0] if column in columns]
            cut[table] = ([columns[i] for i in keep], sorted((tuple(r[i] for i in keep) for r in rows), key=repr))
    return cut


def foreign_key_problems(path: Path) -> list[tuple[Any, ...]]:
    with connect(path) as connection:
        return connection.execute("PRAGMA foreign_key_check").fetchall()


def counts(path: Path) -> dict[str, int]:
    with connect(path) as connection:
        return {table: connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                for table in tables(path)}
