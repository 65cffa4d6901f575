"""`figment bench ...`: benchmarks whose numbers go in the README."""
from __future__ import annotations

import typer

app = typer.Typer(help="Benchmarks: db, generator, model.", no_args_is_help=True)


@app.command("db")
def bench_db(
    answers: list[int] = typer.Option([100_000, 1_000_000], "--answers", help="Board sizes to measure at."),
    path: str = typer.Option("", help="SQLite file to use (default a temporary one)."),
) -> None:
    """Answers recorded per second, and leaderboard query p50/p99 at 100k and 1M answers."""
    from bot.bench_db import run

    run(answers, path or None)
