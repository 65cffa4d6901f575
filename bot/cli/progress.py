"""A progress display for long CLI jobs: a bar with rate and ETA on a terminal, log lines otherwise."""
from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Callable, Iterator

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn, \
    TimeElapsedColumn, TimeRemainingColumn

from bot.cli.common import console

LOG_EVERY_SECONDS = 30.0


@contextmanager
def progress_bar(label: str, unit: str = "photos") -> Iterator[Callable[[int, int], None]]:
    """Yields update(done, total). In a log file (not a terminal) it prints a line every 30 s."""
    if console.is_terminal:
        columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
                   TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn())
        with Progress(*columns, console=console) as bar:
            task = bar.add_task(label, total=None, rate="")
            started = time.monotonic()

            def update(done: int, total: int) -> None:
                elapsed = time.monotonic() - started
                rate = f"{done / elapsed:.1f} {unit}/s" if elapsed > 0 and done else ""
                bar.update(task, completed=done, total=total, rate=rate)

            yield update
        return

    started = last = time.monotonic()

    def log(done: int, total: int) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last < LOG_EVERY_SECONDS and done != total:
            return
        last = now
        elapsed = now - started
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (total - done) / rate if rate > 0 else float("nan")
        console.print(f"{label}: {done}/{total} {unit}, {rate:.1f}/s, elapsed {elapsed / 60:.1f} min, "
                      f"ETA {eta / 60:.1f} min", highlight=False)

    yield log
