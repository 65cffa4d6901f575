"""`figment bench db`: how fast answers are recorded, and how fast boards are read at scale.

1. Answers per second: many players answering concurrently through the real code path
   (Database transactions + db.answers.record_answer) on a real SQLite file.
2. Leaderboard p50/p99: a database filled with N answers (default 100k and 1M) and their running
   scores, written in bulk, then the board queries the bot runs, timed one by one.
"""
from __future__ import annotations

import asyncio
import random
import sqlite3
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bot.quiz.recorder import AnswerRecorder
from db.database import Database
from bot.refs import PlayerRef
from db import migrate
from db import standings
from db.answers import AnswerStatus
from db.games import add_generated_face, add_round, start_game
from db.models import utcnow
from db.people import get_or_create_chat
from db.scopes import ALL_TIME, GLOBAL_SCOPE, chat_scope, week_period
from db.stats import wilson_lower

console = Console()


async def _answers_per_second(path: Path, players: int = 200, rounds: int = 25, concurrency: int = 64) -> float:
    url = f"sqlite+aiosqlite:///{path}"
    await migrate.upgrade_async(url)
    db = Database(url)
    try:
        async with db.transaction() as session:
            chat = await get_or_create_chat(session, "bench", "chat")
            game = await start_game(session, chat.id, None, rounds, 3600)
            face = await add_generated_face(session, 1, 0.7, "bench")
            round_ids = []
            for number in range(1, rounds + 1):
                round_ = await add_round(session, game, number, is_real=number % 2 == 0,
                                         closes_at=utcnow() + timedelta(hours=1), generated_face_id=face.id)
                round_ids.append(round_.id)
        jobs = [(r, p) for r in round_ids for p in range(players)]
        recorder = AnswerRecorder(db)
        semaphore = asyncio.Semaphore(concurrency)

        async def answer(round_id: int, player: int) -> None:
            async with semaphore:
                outcome = await recorder.record(round_id, PlayerRef("bench", str(player), f"p{player}"),
                                                random.random() < 0.5)
                assert outcome.status is AnswerStatus.RECORDED

        start = time.perf_counter()
        await asyncio.gather(*(answer(r, p) for r, p in jobs))
        return len(jobs) / (time.perf_counter() - start)
    finally:
        await db.close()


def _fill(path: Path, answers: int, players: int, chats: int, seed: int = 7) -> None:
    """Write `answers` answers and the matching running scores straight through sqlite3."""
    rng = random.Random(seed)
    now = datetime.now(timezone.utc)
    week = week_period(now)
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    stamp = now.isoformat(sep=" ")
    con.executemany("INSERT INTO chats (id, platform, platform_chat_id, title, settings, created_at) "
                    "VALUES (?, 'bench', ?, '', '{}', ?)", [(c, str(c), stamp) for c in range(1, chats + 1)])
    con.executemany("INSERT INTO players (id, platform, platform_user_id, display_name, created_at) "
                    "VALUES (?, 'bench', ?, ?, ?)", [(p, str(p), f"player {p}", stamp) for p in range(1, players + 1)])
    con.execute("INSERT INTO generated_faces (id, seed, truncation, model_version, created_at) "
                "VALUES (1, 1, 0.7, 'bench', ?)", (stamp,))
    per_round = 20
    # Each chat has its regulars, so chat boards rank people as in real life.
    members = {c: rng.sample(range(1, players + 1), min(players, 60)) for c in range(1, chats + 1)}
    n_rounds = answers // per_round
    games = [(c, c, None, n_rounds, 20, stamp) for c in range(1, chats + 1)]
    con.executemany("INSERT INTO games (id, chat_id, active_chat_id, started_by, rounds_total, round_seconds, "
                    "started_at) VALUES (?, ?, NULL, ?, ?, ?, ?)", [(g[0], g[1], g[2], g[3], g[4], g[5]) for g in games])
    rounds = []
    for r in range(1, n_rounds + 1):
        chat = (r % chats) + 1
        rounds.append((r, chat, chat, r, r % 2, 1, stamp, stamp, stamp))
    con.executemany("INSERT INTO rounds (id, game_id, chat_id, number, is_real, generated_face_id, opened_at, "
                    "closes_at, closed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rounds)
    skill = [0.3 + 0.4 * rng.random() for _ in range(players + 1)]
    totals: dict[tuple[str, str, int], list[int]] = {}
    rows = []
    for r in range(1, n_rounds + 1):
        chat = (r % chats) + 1
        for p in rng.sample(members[chat], per_round):
            correct = rng.random() < skill[p]
            rows.append((r, p, int(correct), int(correct), stamp, 1500))
            for key in ((chat_scope(chat), ALL_TIME, p), (chat_scope(chat), week, p),
                        (GLOBAL_SCOPE, ALL_TIME, p), (GLOBAL_SCOPE, week, p)):
                total = totals.setdefault(key, [0, 0, 0, 0])
                total[0] += 1
                total[1] += int(correct)
                total[2] = total[2] + 1 if correct else 0
                total[3] = max(total[3], total[2])
        if len(rows) >= 100_000:
            con.executemany("INSERT INTO answers (round_id, player_id, guess_real, correct, answered_at, reaction_ms) "
                            "VALUES (?, ?, ?, ?, ?, ?)", rows)
            rows.clear()
    con.executemany("INSERT INTO answers (round_id, player_id, guess_real, correct, answered_at, reaction_ms) "
                    "VALUES (?, ?, ?, ?, ?, ?)", rows)
    con.executemany("INSERT INTO scores (scope, period, player_id, answers, correct, streak, best_streak, wilson) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [(s, per, p, a, c, st, b, wilson_lower(c, a)) for (s, per, p), (a, c, st, b) in totals.items()])
    con.commit()
    con.execute("ANALYZE")
    con.close()


async def _board_latency(path: Path, repeats: int = 200) -> dict[str, tuple[float, float]]:
    db = Database(f"sqlite+aiosqlite:///{path}")
    week = week_period(datetime.now(timezone.utc))
    cases = {
        "chat, all time": (chat_scope(1), ALL_TIME),
        "chat, this week": (chat_scope(2), week),
        "global, all time": (GLOBAL_SCOPE, ALL_TIME),
        "global, this week": (GLOBAL_SCOPE, week),
    }
    results = {}
    try:
        for name, (scope, period) in cases.items():
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                async with db.sessions() as session:
                    rows = await standings.leaderboard(session, scope=scope, period=period, min_answers=10, limit=10)
                times.append((time.perf_counter() - start) * 1000)
                assert rows, "the filled database must rank someone"
            times.sort()
            results[name] = (statistics.median(times), times[int(len(times) * 0.99) - 1])
    finally:
        await db.close()
    return results


def run(sizes: list[int], path: str | None) -> None:
    folder = Path(tempfile.mkdtemp(prefix="figment-bench-"))
    answer_db = Path(path) if path else folder / "answers.db"
    rate = asyncio.run(_answers_per_second(answer_db))
    console.print(f"answers recorded: [bold]{rate:,.0f}/s[/] (200 players x 25 rounds, 64 concurrent, "
                  "real SQLite file)")
    table = Table("answers in db", "query", "p50 ms", "p99 ms")
    for size in sizes:
        db_path = folder / f"board-{size}.db"
        asyncio.run(migrate.upgrade_async(f"sqlite+aiosqlite:///{db_path}"))
        start = time.perf_counter()
        _fill(db_path, size, players=max(1000, size // 100), chats=100)
        console.print(f"filled {size:,} answers in {time.perf_counter() - start:.1f} s")
        for name, (p50, p99) in asyncio.run(_board_latency(db_path)).items():
            table.add_row(f"{size:,}", name, f"{p50:.2f}", f"{p99:.2f}")
    console.print(table)
