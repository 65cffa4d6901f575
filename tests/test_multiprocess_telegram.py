"""Two `figment run` processes, one PostgreSQL, Telegram webhook mode behind one URL; one is killed.

Real parts only: two child processes running this checkout (the shipped generator on the CPU),
a fresh PostgreSQL database they migrate themselves, the fake Bot API delivering updates by
webhook through a round-robin proxy to both workers' ports (and sending again what a worker does
not answer in time), players clicking buttons. Mid-game one worker gets SIGKILL. Then:

- every game ends exactly once (one summary per game, games.ended_at set);
- every answer is recorded once: the answers table holds every click the bot confirmed, nothing
  that was not clicked, and a click made after the kill is always answered;
- no round is posted twice: one image and one set of buttons per round;
- the survivor finishes the dead worker's games, within two round lengths of the kill;
- an update delivered to both workers (a late 200) is handled once;
- a per-user rate limit holds over both workers (eight quick /face from one user: three faces).

Runs when PostgreSQL is reachable at FIGMENT_TEST_POSTGRES_URL (skips otherwise).
"""
from __future__ import annotations

import asyncio
import random
import socket
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot import texts
from db import seen_updates
from tests.bot_process import BotProcess, bot_env, wait_until
from tests.multiprocess_world import (Act, Stored, Verdict, add_photos, check_takeover, games_without_summary,
                                     read_stored)
from tests.pg_fresh import BASE_URL, fresh_database, reachable
from tests.telegram_fake import FakeBotApi
from tests.telegram_fake.balancer import RoundRobin
from tests.telegram_fake.harness import buttons, is_round_post, round_id
from tests.telegram_fake.server import Call

CHATS, PLAYERS_PER_CHAT, GAMES_PER_CHAT, ROUNDS = 10, 5, 3, 3
ROUND_SECONDS, GAP_SECONDS = 3, 1.0
LEASE_SECONDS = 2.0  # short rounds, short leases: a takeover comes within about 1.5 leases plus a poll, under 2 rounds
CLICK_CHANCE = 0.85  # some players skip a round, so some rounds run their full time
VICTIM, SURVIVOR = "w0", "w1"
STUCK_SECONDS = 45  # players give up on a game where nothing happened for this long (a flood wait is 30+ s)
SUMMARY_STARTS = ("Game over!", "Game stopped.")
FACE_LIMIT, FACE_ASKS = 3, 8  # /face per user per minute, and how often one eager user asks at once

pytestmark = pytest.mark.timeout(400)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Click:
    query_id: str
    round_id: int
    user_id: str
    chat_id: int
    at: float


def is_summary(call: Call) -> bool:
    """A summary the chat saw: one refused with a 429 (sent again later) is not one, or the
    players would start their next game while this one's summary still waits."""
    return call.method == "sendMessage" and call.succeeded and str(call.params.get("text", "")).startswith(SUMMARY_STARTS)


def chat_of(call: Call) -> int | None:
    try:
        return int(call.params["chat_id"])
    except (KeyError, TypeError, ValueError):
        return None


def acts(api: FakeBotApi, *, tries: bool = False) -> list[Act]:
    """What the bots did in the chats; tries=True: what they tried too (a call refused with a 429)."""
    found = []
    for call in api.calls:
        chat = chat_of(call)
        if chat is None or not (call.succeeded or tries):
            continue
        if call.method == "sendPhoto" and str(call.params.get("caption", "")).startswith("Round"):
            found.append(Act(str(chat), call.via, call.at, "post"))
        elif call.method == "editMessageReplyMarkup" and is_round_post(call):
            found.append(Act(str(chat), call.via, call.at, "buttons", round_id(call)))
        elif call.method == "editMessageCaption":
            found.append(Act(str(chat), call.via, call.at, "reveal"))
        elif is_summary(call):
            found.append(Act(str(chat), call.via, call.at, "summary"))
    return found


class Players:
    """Ten group chats of five players each: they start games in turn and click the buttons."""

    def __init__(self, api: FakeBotApi, seed: int = 7) -> None:
        self.api = api
        self.rng = random.Random(seed)
        self.chats = [api.group(-100_700_000_000 - n, f"Chat {n}", members=PLAYERS_PER_CHAT + 1)
                      for n in range(CHATS)]
        self.people = {chat["id"]: [api.user(7_000 + PLAYERS_PER_CHAT * n + k, f"Player {n}.{k}")
                                    for k in range(PLAYERS_PER_CHAT)] for n, chat in enumerate(self.chats)}
        self.eager = api.user(9_999, "Eager")  # asks for faces in a private chat, faster than allowed
        self.eager_chat = api.private(self.eager)
        self.clicks: list[Click] = []
        self.quiz_updates: list[int] = []
        self.stuck: list[str] = []  # chats where nothing happened for long: their players gave up
        self._clicking: list[asyncio.Task[None]] = []

    async def play(self) -> None:
        for _ in range(FACE_ASKS):  # the proxy spreads them over both workers
            self.api.command(self.eager_chat, self.eager, "/face")
        await asyncio.gather(*(self._chat(n, chat) for n, chat in enumerate(self.chats)))
        await asyncio.gather(*self._clicking)

    async def _chat(self, n: int, chat: dict) -> None:
        await asyncio.sleep(0.4 * n)  # games start in waves, not all in one second
        chat_id = chat["id"]
        seen: set[int] = set()
        for game in range(GAMES_PER_CHAT):
            starter = self.people[chat_id][game % PLAYERS_PER_CHAT]
            summaries = self._summaries(chat_id)
            self.quiz_updates.append(self.api.command(chat, starter, f"/quiz {ROUNDS}"))
            quiet_since = time.monotonic()
            while self._summaries(chat_id) == summaries:
                for call in self._new_rounds(chat_id, seen):
                    seen.add(round_id(call))
                    quiet_since = time.monotonic()
                    for player in self.people[chat_id]:
                        if self.rng.random() < CLICK_CHANCE:
                            self._clicking.append(asyncio.create_task(
                                self._click(player, chat_id, call, self.rng.uniform(0.2, 1.8))))
                if time.monotonic() - quiet_since > STUCK_SECONDS:
                    self.stuck.append(f"chat {chat_id}: nothing for {STUCK_SECONDS} s in its game {game + 1}")
                    return
                await asyncio.sleep(0.05)
            await asyncio.sleep(self.rng.uniform(0.2, 1.0))

    def _summaries(self, chat_id: int) -> int:
        return len([c for c in self.api.calls if is_summary(c) and chat_of(c) == chat_id])

    def _new_rounds(self, chat_id: int, seen: set[int]) -> list[Call]:
        return [c for c in self.api.calls_to("editMessageReplyMarkup")
                if is_round_post(c) and chat_of(c) == chat_id and round_id(c) not in seen]

    async def _click(self, player: dict, chat_id: int, post: Call, delay: float) -> None:
        await asyncio.sleep(delay)
        data = self.rng.choice(buttons(post))
        message_id = int(post.result["message_id"])
        query_id = self.api.click(player, chat_id, message_id, data)
        self.clicks.append(Click(query_id, round_id(post), str(player["id"]), chat_id, time.time()))


def write_timeline(path: Path, api: FakeBotApi, stored: Stored) -> None:
    """Every call the bots made and every game row, for reading after a failure."""
    lines = [f"{c.at:.3f} {c.via} {c.method} {c.outcome} chat={c.params.get('chat_id')} "
             f"{str(c.params.get('text') or c.params.get('caption') or c.params.get('callback_query_id') or '')[:50]!r}"
             for c in api.calls]
    lines += [f"game {g.id} chat={g.chat} {g.started_at:.3f} -> {g.ended_at}" for g in stored.games]
    path.write_text("\n".join(lines) + "\n")


def open_rounds_of(api: FakeBotApi, via: str) -> set[int]:
    """Chats where `via` posted a round whose reveal has not come yet."""
    open_chats: dict[int, str] = {}
    for act in acts(api):
        if act.kind in ("buttons", "post"):
            open_chats[int(act.chat)] = act.via
        elif act.kind in ("reveal", "summary"):
            open_chats.pop(int(act.chat), None)
    return {chat for chat, who in open_chats.items() if who == via}


async def test_two_webhook_workers_one_killed_mid_game(tmp_path: Path) -> None:
    if not await reachable(BASE_URL):
        pytest.skip(f"no PostgreSQL server at {BASE_URL}")
    async with fresh_database("mp_tg") as database_url, \
            FakeBotApi(webhook_timeout=1.5, webhook_retry=0.2) as api:
        ports = [free_port(), free_port()]
        proxy = await RoundRobin([f"http://127.0.0.1:{port}" for port in ports], hold_every=11,
                                 hold_seconds=2.0).start()
        data_dir = tmp_path / "data"
        workers = [BotProcess(name, bot_env(
            data_dir=data_dir, database_url=database_url, telegram_token=api.token,
            telegram_api_url=api.base_url_via(name), telegram_webhook_url=proxy.url("/telegram/hook"),
            telegram_webhook_listen="127.0.0.1", telegram_webhook_port=port, device="cpu", curate_k=1,
            round_seconds=ROUND_SECONDS, round_gap_seconds=GAP_SECONDS, game_lease_seconds=LEASE_SECONDS,
            coordination_poll_seconds=0.5, quiz_per_minute=1000,
            face_per_minute=FACE_LIMIT, reads_per_minute=1000), tmp_path) for name, port in zip((VICTIM, SURVIVOR), ports)]
        players = Players(api)
        try:
            started = time.time()
            await asyncio.gather(*(worker.start() for worker in workers))  # both migrate at once
            await wait_until(lambda: {c.via for c in api.calls_to("setWebhook")} == {VICTIM, SURVIVOR}, 180,
                             "both workers to set the webhook", workers)
            up = time.time() - started
            await add_photos(database_url, data_dir)

            playing = asyncio.create_task(players.play())
            # Kill the victim once the first wave is mostly over and it has rounds open in two chats.
            await wait_until(lambda: playing.done() or (
                len([c for c in api.calls if is_summary(c)]) >= CHATS // 2 and len(open_rounds_of(api, VICTIM)) >= 2),
                120, "a moment with the victim's rounds open", workers)
            if playing.done():
                playing.result()  # raises what stopped the players
                raise AssertionError("every game ended before the victim had two rounds open")
            workers[0].kill()
            killed_at = time.time()
            await workers[0].process.wait()  # type: ignore[union-attr]
            await asyncio.wait_for(playing, 150)
            await asyncio.sleep(1.0)  # the last toasts and edits
            played = time.time() - killed_at
        finally:
            for worker in workers:
                await worker.stop()
            await proxy.close()
        stored = await read_stored(database_url, "telegram")
        logs = {worker.name: worker.log_text() for worker in workers}

    write_timeline(tmp_path / "timeline.txt", api, stored)
    seen = acts(api)
    verdict = Verdict()
    check, note = verdict.check, verdict.note
    note(f"startup {up:.1f} s; players done {played:.1f} s after the kill; total {time.time() - started:.1f} s")
    for stuck in players.stuck:
        check(False, stuck)

    # -- every game ends exactly once --
    check(len(stored.games) == CHATS * GAMES_PER_CHAT, f"{len(stored.games)} games, not {CHATS * GAMES_PER_CHAT}")
    unended = [game.id for game in stored.games if game.ended_at is None]
    check(not unended, f"games never ended: {unended}")
    silent = games_without_summary(stored.games, seen)
    check(not silent, f"games ended without a summary: {silent}")
    summaries = Counter(chat_of(c) for c in api.calls if is_summary(c))
    check(all(summaries[chat["id"]] == GAMES_PER_CHAT for chat in players.chats),
          f"summaries per chat {dict(summaries)}, not {GAMES_PER_CHAT} each")
    stopped = [c.params["text"][:60] for c in api.calls if is_summary(c) and str(c.params["text"]).startswith("Game stopped.")]
    check(not stopped, f"games stopped early: {stopped}")

    # -- no round posted twice --
    buttoned = Counter(a.round_id for a in seen if a.kind == "buttons")
    twice_posted = [r for r, n in buttoned.items() if n > 1]
    check(not twice_posted, f"rounds given buttons more than once: {twice_posted}")
    rows_by_chat = Counter(r.chat for r in stored.rounds)
    photos_by_chat = Counter(a.chat for a in seen if a.kind == "post")
    for chat, photos in photos_by_chat.items():
        check(photos <= rows_by_chat[chat], f"chat {chat}: {photos} round images for {rows_by_chat[chat]} rounds")
    unposted = [row.id for row in stored.rounds if row.message_ref and buttoned[row.id] != 1]
    check(not unposted, f"rounds stored as posted without their one set of buttons: {unposted}")

    # -- every answer recorded once --
    toasts: dict[str, list[Call]] = {}
    for call in api.calls:
        if call.method == "answerCallbackQuery":
            toasts.setdefault(str(call.params.get("callback_query_id")), []).append(call)
    accepted = {(c.round_id, c.user_id) for c in players.clicks
                if any(t.succeeded and t.params.get("text") in (texts.ANSWER_RECORDED, texts.ANSWER_ALREADY)
                       for t in toasts.get(c.query_id, []))}
    clicked = {(c.round_id, c.user_id) for c in players.clicks}
    rows = stored.answers
    unconfirmed = [c for c in players.clicks if not any(t.succeeded for t in toasts.get(c.query_id, []))]
    note(f"clicks {len(players.clicks)}, accepted {len(accepted)}, answers stored {len(rows)}, "
                  f"clicks never answered {len(unconfirmed)}")
    check(len(rows) == len(set(rows)), "an answer is stored twice")
    check(accepted <= set(rows), f"accepted clicks not stored: {sorted(accepted - set(rows))[:10]}")
    check(set(rows) <= clicked, f"answers nobody clicked: {sorted(set(rows) - clicked)[:10]}")
    extra = set(rows) - accepted
    check(extra <= {(c.round_id, c.user_id) for c in unconfirmed}, f"stored answers refused to the player: {extra}")
    late = [c for c in unconfirmed if c.at > killed_at + 0.5]
    check(not late, f"{len(late)} clicks after the kill were never answered, e.g. {late[:3]}")

    # -- an update delivered to both workers is handled once --
    twice = {f.update_id for f in proxy.forwards if f.held}
    note(f"updates answered late by the proxy, so sent again: {len(twice)}")
    check(twice, "the proxy never held an answer: nothing was delivered twice")
    double_toasts = {q: calls for q, calls in toasts.items() if len(calls) > 1}
    # A click the victim was handling when it was killed is not lost: once its claim went stale
    # (db/seen_updates.py: STALE, no heartbeat from a dead worker) the survivor handles it again.
    stale = seen_updates.STALE.total_seconds()
    redone = {q for q, calls in double_toasts.items() if calls[0].via == VICTIM and calls[0].at <= killed_at
              and all(c.via == SURVIVOR and c.at >= killed_at + stale - 1 for c in calls[1:])}
    note(f"clicks the victim was handling when killed, handled again by the survivor: {len(redone)}")
    twice_handled = {q: [(c.via, round(c.at - killed_at, 1)) for c in calls]
                     for q, calls in double_toasts.items() if q not in redone}
    check(not twice_handled, f"{len(twice_handled)} clicks handled by more than one worker (via, s after the "
                             f"kill): {list(twice_handled.items())[:5]}")
    running = [c for c in api.calls_to("sendMessage") if c.params.get("text") == texts.GAME_RUNNING
               and not (c.via == SURVIVOR and c.at >= killed_at + stale - 1)]  # a /quiz the victim died in
    check(not running, f"{len(running)} /quiz updates were handled twice (a 'game running' reply)")

    # -- the survivor finishes the dead worker's games, within two round lengths --
    check_takeover(verdict, seen, acts(api, tries=True), stored.games, VICTIM, SURVIVOR, killed_at, ROUND_SECONDS,
                   "chat")
    # -- a per-user limit holds across processes --
    eager = players.eager["id"]
    faces = [c for c in api.calls_to("sendPhoto") if chat_of(c) == eager]
    refusals = [c for c in api.calls_to("sendMessage") if chat_of(c) == eager
                and str(c.params.get("text", "")).startswith("Easy there!")]
    note(f"/face x{FACE_ASKS} from one user: {len(faces)} faces (by {sorted({c.via for c in faces})}), "
         f"{len(refusals)} refusals (by {sorted({c.via for c in refusals})})")
    check(len(faces) == FACE_LIMIT and len(refusals) == FACE_ASKS - FACE_LIMIT,
          f"the /face limit of {FACE_LIMIT} a minute did not hold over both workers")

    for name, text in logs.items():
        check("Traceback" not in text, f"{name} logged a traceback (see {name}.log)")
    note(f"Telegram limits met (429s, each pausing its chat): {dict(api.breaches) or 'none'}")
    verdict.conclude()
