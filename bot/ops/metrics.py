"""What the bot tells operators: rounds, answers, reveal lag, handler latency, platform errors and
the games this process runs, as Prometheus metrics (`figment run` serves them: bot.ops.server).

One BotMetrics per core (bot.app.Figment), each with its own registry, so tests and tools that
open several cores in one process keep separate counts. The core and the front-ends update it
with one-line calls; nothing here knows a chat platform.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector

from bot.quiz.modes import PAIRS, SINGLE

# Handlers answer in milliseconds to seconds (a /quiz start waits for the database, a /face for
# the generator); Telegram's flood lanes may hold a reply for some seconds more.
HANDLER_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# A reveal follows its close within a second or two (a flood lane may hold it longer); one
# revealed by a restart may be minutes or hours overdue.
LAG_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)

# The `kind` of a platform error, from the HTTP status of the platform's reply; "timeout" and
# "network" (no reply at all) and "gateway" (Discord's event connection dropped) complete the list.
KINDS_BY_STATUS = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "conflict",
                   429: "rate_limited"}


def status_kind(status: int) -> str | None:
    """The `kind` of a platform's HTTP reply; None for a success."""
    if status < 400:
        return None
    if status >= 500:
        return "server_error"
    return KINDS_BY_STATUS.get(status, "other")


def mode_of(pair: bool) -> str:
    return PAIRS if pair else SINGLE


class BotMetrics:
    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        self.rounds_posted = Counter(
            "figment_bot_rounds_posted_total", "Quiz rounds whose post the platform confirmed, by platform and mode.",
            ["platform", "mode"], registry=registry)
        self.rounds_revealed = Counter(
            "figment_bot_rounds_revealed_total", "Quiz rounds revealed (and scored), by platform and mode.",
            ["platform", "mode"], registry=registry)
        self.answers = Counter(
            "figment_bot_answers_total", "Answer clicks by platform and outcome: recorded, already, closed, "
            "no_round, wrong_kind, or failed (the database refused).", ["platform", "status"], registry=registry)
        self.reveal_lag = Histogram(
            "figment_bot_reveal_lag_seconds", "Seconds from a round's close to its reveal, by platform.",
            ["platform"], buckets=LAG_BUCKETS, registry=registry)
        self.handler_seconds = Histogram(
            "figment_bot_handler_seconds", "Time to handle a command or button, by platform and handler.",
            ["platform", "handler"], buckets=HANDLER_BUCKETS, registry=registry)
        self.platform_errors = Counter(
            "figment_bot_platform_errors_total", "Failed calls to a chat platform's API (and dropped "
            "connections), by platform and kind.", ["platform", "kind"], registry=registry)
        self.games_owned = Gauge(
            "figment_bot_games_owned", "Quiz games whose loop runs in this process, by platform.",
            ["platform"], registry=registry)
        ProcessCollector(registry=registry)  # CPU, memory, open files of the bot's process

    # -- the core --
    def round_posted(self, platform: str, pair: bool) -> None:
        self.rounds_posted.labels(platform, mode_of(pair)).inc()

    def round_revealed(self, platform: str, pair: bool, closes_at: datetime, closed_at: datetime | None) -> None:
        """A round was revealed now. Its close time is the earlier of its scheduled close and its
        actual one: a round closed early (everyone answered) is timed from then, and one left
        overdue by a restart is timed from when it should have closed."""
        closed = min(_utc(closes_at), _utc(closed_at or closes_at))
        self.rounds_revealed.labels(platform, mode_of(pair)).inc()
        self.reveal_lag.labels(platform).observe(max(0.0, (datetime.now(timezone.utc) - closed).total_seconds()))

    def count_games(self, platform: str, count: Callable[[], int]) -> None:
        """Read the games this process runs on `platform` from `count` at each scrape: always the
        truth, however a game's loop ended (finished, stopped, cancelled by a shutdown)."""
        self.games_owned.labels(platform).set_function(count)

    def watch_bank(self, made: Callable[[], float], kept: Callable[[], float], drawn: Callable[[], float]) -> None:
        """The face bank's filler and draws in this process, read at each scrape (once per core)."""
        Gauge("figment_bank_candidates_made", "Candidates the face bank's filler made and scored in this "
              "process since it started.", registry=self.registry).set_function(made)
        Gauge("figment_bank_faces_kept", "Of them, the ones that entered the bank.",
              registry=self.registry).set_function(kept)
        Gauge("figment_bank_effective_k", "Candidates made per face kept (0 before any was kept).",
              registry=self.registry).set_function(lambda: made() / kept() if kept() else 0.0)
        Gauge("figment_bank_faces_drawn", "Faces the quiz and /face took from the bank in this process.",
              registry=self.registry).set_function(drawn)

    def answer(self, platform: str, status: str) -> None:
        self.answers.labels(platform, status).inc()

    # -- the front-ends --
    @contextmanager
    def handling(self, platform: str, handler: str) -> Iterator[None]:
        """Time one command or button handler (failed ones too)."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.handled(platform, handler, time.perf_counter() - started)

    def handled(self, platform: str, handler: str, seconds: float) -> None:
        self.handler_seconds.labels(platform, handler).observe(seconds)

    def platform_error(self, platform: str, kind: str) -> None:
        self.platform_errors.labels(platform, kind).inc()


def _utc(when: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stamp in the database is UTC."""
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)
