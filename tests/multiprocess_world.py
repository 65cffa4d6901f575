"""What tests with several bot processes share: photos in the shared database, what the database
says happened, and the time a survivor took to carry on the games of a killed process.

Every call a bot makes to a fake platform is tagged with the process that made it (a path prefix
in its API URL), so "who did what, when" is read off the fake, never asked of the bots.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from PIL import Image
from sqlalchemy import text

from db.engine import make_engine
from db.models import RealPhoto
from db.engine import make_sessionmaker

PACK = "mp-pack"


async def add_photos(database_url: str, data_dir: Path, count: int = 8) -> None:
    """Drawn stand-ins for imported photos, where the importer would put them (the data folder
    every process shares). The schema must exist: call once the bots have migrated it."""
    folder = data_dir / "photos" / PACK
    folder.mkdir(parents=True, exist_ok=True)
    engine = make_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            for index in range(count):
                path = folder / f"{index}.png"
                Image.new("RGB", (256, 256), (30 * index, 100, 170 - 10 * index)).save(path)
                session.add(RealPhoto(pack=PACK, source_path=str(path), source="drawn for tests", licence="CC0",
                                      content_hash=f"mp-{index}", perceptual_hash=index,
                                      stored_path=str(path.relative_to(data_dir)), split="heldout"))
    finally:
        await engine.dispose()


@dataclass(frozen=True)
class GameRow:
    id: int
    chat: str  # the platform's chat id
    started_at: float  # epoch seconds
    ended_at: float | None


@dataclass(frozen=True)
class RoundRow:
    id: int
    game_id: int
    chat: str
    number: int
    message_ref: str | None
    revealed: bool


@dataclass
class Stored:
    games: list[GameRow]
    rounds: list[RoundRow]
    answers: list[tuple[int, str]]  # (round id, the platform's user id), one per row


def _epoch(value: datetime | None) -> float | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()


async def read_stored(database_url: str, platform: str) -> Stored:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as db:
            games = [GameRow(r.id, r.chat, _epoch(r.started_at) or 0.0, _epoch(r.ended_at)) for r in (await db.execute(
                text("SELECT g.id, c.platform_chat_id AS chat, g.started_at, g.ended_at FROM games g "
                     "JOIN chats c ON c.id = g.chat_id WHERE c.platform = :p ORDER BY g.id"), {"p": platform}))]
            rounds = [RoundRow(r.id, r.game_id, r.chat, r.number, r.message_ref, r.revealed_at is not None)
                      for r in await db.execute(text(
                          "SELECT r.id, r.game_id, c.platform_chat_id AS chat, r.number, r.message_ref, r.revealed_at "
                          "FROM rounds r JOIN chats c ON c.id = r.chat_id WHERE c.platform = :p ORDER BY r.id"),
                          {"p": platform})]
            answers = [(int(r.round_id), str(r.user)) for r in await db.execute(text(
                "SELECT a.round_id, p.platform_user_id AS user FROM answers a JOIN players p ON p.id = a.player_id "
                "WHERE p.platform = :p"), {"p": platform})]
        return Stored(games, rounds, answers)
    finally:
        await engine.dispose()


@dataclass(frozen=True)
class Act:
    """Something a bot process did in a chat, as the fake platform saw it."""

    chat: str
    via: str  # which process
    at: float  # epoch seconds
    kind: str  # "post" (a round's image), "buttons", "reveal" or "summary"
    round_id: int | None = None


def orphans(acts: list[Act], games: list[GameRow], victim: str, killed_at: float) -> list[str]:
    """Chats whose game was running at the kill and was the victim's: the victim posted or
    revealed its last round, or nobody had posted in it yet (its owner is then unknown; a
    survivor's own game counts too, which only adds a quick "takeover")."""
    chats = []
    for game in games:
        if not (game.started_at <= killed_at and (game.ended_at is None or game.ended_at > killed_at)):
            continue
        # a summary is left out: the one of the chat's previous game may come after this one began
        before = [a for a in acts if a.chat == game.chat and game.started_at <= a.at <= killed_at
                  and a.kind != "summary"]
        if not before or before[-1].via == victim:
            chats.append(game.chat)
    return chats


def takeover_seconds(acts: list[Act], chat: str, survivor: str, killed_at: float) -> float | None:
    """From the kill to the survivor's first act in the chat (None: it never acted there)."""
    after = [a.at for a in acts if a.chat == chat and a.via == survivor and a.at >= killed_at]
    return min(after) - killed_at if after else None


def games_without_summary(games: list[GameRow], acts: list[Act]) -> list[int]:
    """Ended games no summary followed: a chat's summary comes after its game's end and before the
    chat's next game starts (players start the next one once they saw it)."""
    missing = []
    for game in games:
        if game.ended_at is None:
            continue
        later = [g.started_at for g in games if g.chat == game.chat and g.started_at > game.started_at]
        until = min(later, default=float("inf"))
        if not any(a.chat == game.chat and a.kind == "summary" and game.ended_at - 0.5 <= a.at <= until
                   for a in acts):
            missing.append(game.id)
    return missing


def check_takeover(verdict: "Verdict", acts: list[Act], tries: list[Act], games: list[GameRow], victim: str,
                   survivor: str, killed_at: float, round_seconds: float, where: str) -> None:
    """The survivor takes over every game the victim ran at the kill within two round lengths
    (timed to its first try in the chat: a platform's rate-limit wait after it is not the
    takeover's), finishes each with its summary, and the victim does nothing after the kill."""
    dead = orphans(acts, games, victim, killed_at)
    verdict.check(dead, "the killed process had no game running at the kill")
    times = {chat: takeover_seconds(tries, chat, survivor, killed_at) for chat in dead}
    verdict.note("takeover after the kill: " + ", ".join(
        f"{chat}: {'never' if t is None else f'{t:.2f} s'}" for chat, t in times.items()))
    verdict.check(all(t is not None and t <= 2 * round_seconds for t in times.values()),
                  f"the survivor did not take over within {2 * round_seconds} s")
    for chat in dead:
        ends = [a for a in acts if a.chat == chat and a.kind == "summary" and a.at > killed_at]
        verdict.check(ends and ends[0].via == survivor,
                      f"{where} {chat}: the survivor never finished the killed process's game")
    verdict.check(not [a for a in acts if a.via == victim and a.at > killed_at + 0.2],
                  "the killed process acted after the kill")


class Verdict:
    """Every failed check of a long end-to-end run, reported together (one run shows them all)."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.report: list[str] = []  # measurements, shown with the problems and in the test's output

    def check(self, ok: object, problem: str) -> None:
        if not ok:
            self.problems.append(problem)

    def note(self, line: str) -> None:
        self.report.append(line)

    def conclude(self) -> None:
        print("\n".join(self.report))
        assert not self.problems, "\n".join(self.problems + self.report)
