"""Two `figment run` processes, one PostgreSQL, Discord shards 0 and 1 of 2; one process is killed.

Real parts only: two child processes running this checkout (the shipped generator on the CPU),
each the real discord.py AutoShardedClient for one shard, a fresh PostgreSQL database they
migrate themselves, and the fake Discord routing each guild's events to its shard. Mid-game the
process of shard 0 gets SIGKILL: its guilds hear nothing more (their clicks reach nobody, as on
Discord until the shard is back), yet the survivor finishes their games by REST, which needs no
gateway. Then:

- every game ends exactly once (one summary per game, games.ended_at set);
- every answer is recorded once: the answers table holds every click the bot confirmed, nothing
  else, and no click sent to the dead shard;
- no round is posted twice: one message with a round's buttons per round;
- the survivor finishes the dead process's games, within two round lengths of the kill;
- the slash commands were synced once, by the process of shard 0.

Runs when PostgreSQL is reachable at FIGMENT_TEST_POSTGRES_URL (skips otherwise).
"""
from __future__ import annotations

import asyncio
import random
import re
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot import texts
from bot.ops.shards import shard_of
from tests.bot_process import BotProcess, bot_env, wait_until
from tests.discord_fake import FakeDiscord
from tests.discord_fake.payloads import FakeGuild, FakeMember
from tests.discord_fake.server import FakeInteraction
from tests.multiprocess_world import (Act, Stored, Verdict, add_photos, check_takeover, games_without_summary,
                                     read_stored)
from tests.pg_fresh import BASE_URL, fresh_database, reachable

GUILDS, PLAYERS_PER_GUILD, GAMES_PER_GUILD, ROUNDS = 10, 5, 3, 3
ROUND_SECONDS, GAP_SECONDS = 3, 1.0
LEASE_SECONDS = 2.0  # short rounds, short leases: a takeover comes within about 1.5 leases plus a poll, under 2 rounds
CLICK_CHANCE = 0.85
SHARDS = 2
VICTIM, SURVIVOR = "p0", "p1"  # the processes of shard 0 and shard 1
STUCK_SECONDS = 30  # players give up on a game where nothing happened for this long
SUMMARY_STARTS = ("Game over!", "Game stopped.")
ANSWER = re.compile(r"figment:answer:(\d+):[rf]")

pytestmark = pytest.mark.timeout(400)


@dataclass
class Click:
    interaction: FakeInteraction
    round_id: int
    user_id: str
    guild_id: int
    at: float


def round_of(body: Any) -> int | None:
    for row in (body or {}).get("components") or []:
        for button in row.get("components", []):
            match = ANSWER.fullmatch(str(button.get("custom_id", "")))
            if match:
                return int(match.group(1))
    return None


def acts(fake: FakeDiscord, *, tries: bool = False) -> list[Act]:
    """What the bots did in the guilds; tries=True: what they tried too (a request refused with a 429)."""
    found = []
    for record in fake.requests:
        match = re.fullmatch(r"/channels/(\d+)/messages(?:/\d+)?", record.path)
        if match is None or not (record.ok or tries):
            continue
        _, guild = fake._channel(int(match.group(1)))
        if guild is None:
            continue
        chat, body = str(guild.id), record.body or {}
        if record.method == "POST" and round_of(body) is not None:
            found.append(Act(chat, record.via, record.at, "post", round_of(body)))
        elif record.method == "PATCH":
            found.append(Act(chat, record.via, record.at, "reveal"))
        elif record.method == "POST" and str(body.get("content", "")).startswith(SUMMARY_STARTS):
            found.append(Act(chat, record.via, record.at, "summary"))
    return found


def round_messages(fake: FakeDiscord, channel: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in fake.channel_messages(channel) if round_of(m) is not None]


def summaries(fake: FakeDiscord, channel: dict[str, Any]) -> int:
    return len([m for m in fake.channel_messages(channel) if str(m["content"]).startswith(SUMMARY_STARTS)])


class Players:
    """Ten guilds, five on each shard, five players each: games in turn, clicks on the buttons."""

    def __init__(self, fake: FakeDiscord, seed: int = 11) -> None:
        self.fake = fake
        self.rng = random.Random(seed)
        self.guilds: list[FakeGuild] = [fake.add_guild(f"Server {n}", shard=(n % SHARDS, SHARDS))
                                        for n in range(GUILDS)]
        self.rooms = {guild.id: guild.add_text_channel("quiz") for guild in self.guilds}
        self.people: dict[int, list[FakeMember]] = {
            guild.id: [fake.add_member(guild, f"Player {n}.{k}") for k in range(PLAYERS_PER_GUILD)]
            for n, guild in enumerate(self.guilds)}
        self.games_started: Counter[int] = Counter()
        self.clicks: list[Click] = []
        self.stuck: list[str] = []
        self._clicking: list[asyncio.Task[None]] = []

    async def play(self) -> None:
        await asyncio.gather(*(self._guild(n, guild) for n, guild in enumerate(self.guilds)))
        await asyncio.gather(*self._clicking)

    async def _guild(self, n: int, guild: FakeGuild) -> None:
        await asyncio.sleep(0.4 * n)
        room, seen = self.rooms[guild.id], set()  # type: ignore[var-annotated]
        for game in range(GAMES_PER_GUILD):
            done = summaries(self.fake, room)
            command = await self.fake.slash("quiz", self.people[guild.id][game % PLAYERS_PER_GUILD], room,
                                            rounds=ROUNDS)
            try:  # the game has started once the bot says so (a command the dead shard held is lost)
                await self.fake.reply(command, STUCK_SECONDS)
            except AssertionError:
                self.stuck.append(f"guild {guild.id}: no answer to /quiz for game {game + 1}")
                return
            self.games_started[guild.id] += 1
            quiet_since = time.monotonic()
            while summaries(self.fake, room) == done:
                for message in round_messages(self.fake, room):
                    round_id = round_of(message)
                    if round_id in seen:
                        continue
                    seen.add(round_id)
                    quiet_since = time.monotonic()
                    for member in self.people[guild.id]:
                        if self.rng.random() < CLICK_CHANCE:
                            self._clicking.append(asyncio.create_task(
                                self._click(member, guild.id, message, self.rng.uniform(0.2, 1.8))))
                if time.monotonic() - quiet_since > STUCK_SECONDS:
                    self.stuck.append(f"guild {guild.id}: nothing for {STUCK_SECONDS} s in its game {game + 1}")
                    return
                await asyncio.sleep(0.05)
            await asyncio.sleep(self.rng.uniform(0.2, 1.0))

    async def _click(self, member: FakeMember, guild_id: int, message: dict[str, Any], delay: float) -> None:
        await asyncio.sleep(delay)
        button = self.rng.choice([b["custom_id"] for row in message["components"] for b in row["components"]])
        interaction = await self.fake.click(message, button, member)
        self.clicks.append(Click(interaction, round_of(message) or 0, str(member.id), guild_id, time.time()))


def reply_text(fake: FakeDiscord, interaction: FakeInteraction) -> str | None:
    if interaction.original_id is None:
        return None
    return str(fake.messages[interaction.original_id].get("content") or "") or None


def open_rounds_of(fake: FakeDiscord, via: str) -> set[str]:
    """Guilds where `via` posted a round whose reveal has not come yet."""
    open_guilds: dict[str, str] = {}
    for act in acts(fake):
        if act.kind == "post":
            open_guilds[act.chat] = act.via
        else:
            open_guilds.pop(act.chat, None)
    return {guild for guild, who in open_guilds.items() if who == via}


def write_timeline(path: Path, fake: FakeDiscord, stored: Stored) -> None:
    """Every request the bots made and every game row, for reading after a failure."""
    lines = [f"{r.at:.3f} {r.via} {r.method} {r.path} {r.status} "
             f"{str((r.body or {}).get('content', '') if isinstance(r.body, dict) else '')[:50]!r}"
             for r in fake.requests]
    lines += [f"game {g.id} guild={g.chat} {g.started_at:.3f} -> {g.ended_at}" for g in stored.games]
    path.write_text("\n".join(lines) + "\n")


async def test_two_shard_processes_one_killed_mid_game(tmp_path: Path) -> None:
    if not await reachable(BASE_URL):
        pytest.skip(f"no PostgreSQL server at {BASE_URL}")
    fake = await FakeDiscord(recommended_shards=SHARDS).start()
    players = Players(fake)
    data_dir = tmp_path / "data"
    try:
        async with fresh_database("mp_dc") as database_url:
            processes = [BotProcess(name, bot_env(
                data_dir=data_dir, database_url=database_url, discord_token=fake.token,
                discord_api_url=fake.rest_base_via(name), discord_gateway_url=fake.gateway_url_via(name),
                discord_shard_count=SHARDS, discord_shard_ids=shard, device="cpu", curate_k=1,
                round_seconds=ROUND_SECONDS, round_gap_seconds=GAP_SECONDS, game_lease_seconds=LEASE_SECONDS,
            coordination_poll_seconds=0.5, quiz_per_minute=1000,
                face_per_minute=1000, reads_per_minute=1000), tmp_path) for shard, name in enumerate((VICTIM, SURVIVOR))]
            try:
                started = time.time()
                await asyncio.gather(*(process.start() for process in processes))  # both migrate at once
                await wait_until(lambda: fake.gateway.connected_shards() == {0, 1} and fake.commands, 180,
                               "both shards to connect and the commands to be synced", processes)
                up = time.time() - started
                await add_photos(database_url, data_dir)

                playing = asyncio.create_task(players.play())
                victim_guilds = [g.id for g in players.guilds if shard_of(g.id, SHARDS) == 0]
                # Shard 0's guilds can start no game once it is gone: kill during their last games.
                await wait_until(lambda: playing.done() or (
                    all(players.games_started[g] == GAMES_PER_GUILD for g in victim_guilds)
                    and len(open_rounds_of(fake, VICTIM)) >= 2), 150, "a moment with shard 0's rounds open",
                    processes)
                if playing.done():
                    playing.result()
                    raise AssertionError("every game ended before shard 0 had two rounds open")
                processes[0].kill()
                killed_at = time.time()
                await processes[0].process.wait()  # type: ignore[union-attr]
                await asyncio.wait_for(playing, 150)
                await asyncio.sleep(1.0)  # the last replies and edits
                played = time.time() - killed_at
            finally:
                for process in processes:
                    await process.stop()
            stored = await read_stored(database_url, "discord")
            logs = {process.name: process.log_text() for process in processes}
    finally:
        await fake.close()

    write_timeline(tmp_path / "timeline.txt", fake, stored)
    seen = acts(fake)
    verdict = Verdict()
    check, note = verdict.check, verdict.note
    note(f"startup {up:.1f} s; players done {played:.1f} s after the kill; total {time.time() - started:.1f} s")
    for stuck in players.stuck:
        check(False, stuck)

    # -- the commands were synced once, by shard 0's process --
    syncs = [r for r in fake.requests if r.method == "PUT" and r.path.endswith("/commands")]
    check([r.via for r in syncs] == [VICTIM], f"command syncs by {[r.via for r in syncs]}, not once by {VICTIM}")

    # -- every game ends exactly once --
    check(len(stored.games) == GUILDS * GAMES_PER_GUILD, f"{len(stored.games)} games, not {GUILDS * GAMES_PER_GUILD}")
    unended = [game.id for game in stored.games if game.ended_at is None]
    check(not unended, f"games never ended: {unended}")
    silent = games_without_summary(stored.games, seen)
    check(not silent, f"games ended without a summary: {silent}")
    per_guild = {guild.id: summaries(fake, players.rooms[guild.id]) for guild in players.guilds}
    check(all(n == GAMES_PER_GUILD for n in per_guild.values()), f"summaries per guild {per_guild}")
    stopped = [m["content"][:60] for room in players.rooms.values() for m in fake.channel_messages(room)
               if str(m["content"]).startswith("Game stopped.")]
    check(not stopped, f"games stopped early: {stopped}")

    # -- no round posted twice --
    posted = Counter(a.round_id for a in seen if a.kind == "post")
    twice = [r for r, n in posted.items() if n > 1]
    check(not twice, f"rounds posted more than once: {twice}")
    unposted = [row.id for row in stored.rounds if row.message_ref and posted[row.id] != 1]
    check(not unposted, f"rounds stored as posted without their one message: {unposted}")

    # -- every answer recorded once --
    replies = {id(c): reply_text(fake, c.interaction) for c in players.clicks}
    accepted = {(c.round_id, c.user_id) for c in players.clicks
                if replies[id(c)] in (texts.ANSWER_RECORDED, texts.ANSWER_ALREADY)}
    clicked = {(c.round_id, c.user_id) for c in players.clicks}
    unconfirmed = [c for c in players.clicks if replies[id(c)] is None]
    rows = stored.answers
    note(f"clicks {len(players.clicks)}, accepted {len(accepted)}, answers stored {len(rows)}, "
                  f"clicks never answered {len(unconfirmed)} (to the dead shard after the kill: "
                  f"{len([c for c in unconfirmed if c.at > killed_at])})")
    check(len(rows) == len(set(rows)), "an answer is stored twice")
    check(accepted <= set(rows), f"accepted clicks not stored: {sorted(accepted - set(rows))[:10]}")
    check(set(rows) <= clicked, f"answers nobody clicked: {sorted(set(rows) - clicked)[:10]}")
    extra = set(rows) - accepted
    check(extra <= {(c.round_id, c.user_id) for c in unconfirmed if c.at <= killed_at},
          f"stored answers nobody was told of, beyond clicks in the dead process's hands: {extra}")
    lost = [c for c in unconfirmed if c.at > killed_at + 0.5 and shard_of(c.guild_id, SHARDS) != 0]
    check(not lost, f"{len(lost)} clicks on the live shard after the kill were never answered")

    # -- the survivor finishes the dead process's games, within two round lengths --
    check_takeover(verdict, seen, acts(fake, tries=True), stored.games, VICTIM, SURVIVOR, killed_at, ROUND_SECONDS,
                   "guild")
    check(not fake.breaches, f"Discord limits broken: {dict(fake.breaches)}")
    for name, text in logs.items():
        check("Traceback" not in text, f"{name} logged a traceback (see {name}.log)")
    verdict.conclude()
