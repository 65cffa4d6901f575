"""A load test from the platforms' side: 20 chats on each strict fake, 5-second rounds, 50 players
clicking, /face bursts, a few injected 429s.

Checks: every round is posted before its clock starts, no limit is breached (the fakes count),
and every answer is recorded once. The figures go to the README (run with -s to see them).
"""
from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from bot import texts
from bot.app import Figment
from db.models import Answer, Round
from db.models import as_utc
from generator.serving.direct import DirectSource
from tests.conftest import add_real_photos, make_settings
from tests.discord_fake import FakeDiscord
from tests.discord_fake.harness import answer_id, buttons, round_id_of, running_bot
from tests.discord_fake.payloads import MEMBER_PERMISSIONS, FakeMember, user
from tests.fakes import DrawnFaceModel
from tests.telegram_fake import FakeBotApi
from tests.telegram_fake.harness import is_round_post, message_id, round_id, start_bot, toast

CHATS, PLAYERS, PER_CHAT, ROUNDS, SECONDS = 20, 50, 10, 2, 5
DB_CLOCK_RESOLUTION = 0.001  # seconds
BURST_CHATS, BURST = 4, 12  # /face bursts: with the rounds, just under a group's 20 messages a minute


@dataclass
class Figures:
    platform: str
    rounds: int = 0
    answers: int = 0
    met_429: int = 0
    worst_post_delay: float = 0.0
    breaches: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        return (f"{self.platform}: {CHATS} chats, {self.rounds} rounds, {self.answers} answers, "
                f"{self.met_429} 429s met, worst delay from round open to photo posted "
                f"{self.worst_post_delay:.1f} s, breaches {sum(self.breaches.values())}")


def players_of(chat: int) -> list[int]:
    """Each chat has 10 of the 50 players; each player plays in 4 chats."""
    return [(chat * 3 + k * 5) % PLAYERS for k in range(PER_CHAT)]


async def check_rounds(figment: Figment, posted_at: dict[int, float], figures: Figures) -> None:
    """Every round's clock started after its post was confirmed; the worst wait before the post."""
    async with figment.db.transaction() as session:
        rounds = list((await session.scalars(select(Round))).all())
        figures.answers = await session.scalar(select(func.count()).select_from(Answer)) or 0
    figures.rounds = len(rounds)
    for round_ in rounds:
        clock_start = (as_utc(round_.closes_at) - timedelta(seconds=SECONDS)).timestamp()
        # SQLite's clock reads whole milliseconds (db/clock.py): it may trail the process clock by <1 ms.
        assert clock_start + DB_CLOCK_RESOLUTION >= posted_at[round_.id], f"round {round_.id} ran before its post"
        assert round_.revealed_at is not None
        figures.worst_post_delay = max(figures.worst_post_delay,
                                       posted_at[round_.id] - as_utc(round_.opened_at).timestamp())


async def test_telegram_under_load(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, round_seconds=SECONDS, round_gap_seconds=1.0, posted_size=64)
    async with FakeBotApi() as api:
        running = await start_bot(api, settings)
        try:
            await add_real_photos(running.figment)
            people = [api.user(5000 + n, f"Player {n}") for n in range(PLAYERS)]
            chats = [api.group(-1000 - n, f"Group {n}", members=40) for n in range(CHATS)]
            api.fault("sendPhoto", "429", retry_after=2, times=3)  # Telegram asks some chats to wait
            for n, chat in enumerate(chats):
                api.command(chat, people[players_of(n)[0]], f"/quiz {ROUNDS}")
            for n in range(BURST_CHATS):
                for k in range(BURST):
                    api.command(chats[n], people[players_of(n)[k % 3]], "/face")

            clicked: set[int] = set()
            queries: list[tuple[str, str]] = []  # (query id, expected toast)
            rng = random.Random(18)

            async def click_new_rounds() -> None:
                for call in api.calls_to("editMessageReplyMarkup"):
                    if not is_round_post(call) or round_id(call) in clicked:
                        continue
                    clicked.add(round_id(call))
                    chat_id, mid, rid = int(call.params["chat_id"]), message_id(call), round_id(call)
                    who = players_of(-1000 - chat_id)
                    for k, player in enumerate(who):
                        data = f"a:{rid}:{rng.choice('rf')}"
                        queries.append((api.click(people[player], chat_id, mid, data), texts.ANSWER_RECORDED))
                        if k == 0:  # a double click changes nothing
                            queries.append((api.click(people[player], chat_id, mid, data), texts.ANSWER_ALREADY))

            summaries = lambda: [c for c in api.calls_to("sendMessage") if str(c.params["text"]).startswith("Game")]
            async with asyncio.timeout(50):
                while len(summaries()) < CHATS:
                    await click_new_rounds()
                    await asyncio.sleep(0.1)
            for query_id, expected in queries:
                assert await toast(api, query_id) == expected
            posted_at = {round_id(c): c.at for c in api.calls_to("editMessageReplyMarkup") if is_round_post(c)}
            figures = Figures("Telegram", met_429=len([c for c in api.calls if c.outcome == "429"]),
                              breaches=dict(api.breaches))
            await check_rounds(running.figment, posted_at, figures)
            assert figures.rounds == CHATS * ROUNDS and figures.answers == CHATS * ROUNDS * PER_CHAT
            assert not api.breaches and figures.met_429 >= 3
            assert all("Game over" in str(c.params["text"]) for c in summaries())
            async with asyncio.timeout(30):  # no face lost: they go after the game in their chat's lane
                while len(api.calls_to("sendPhoto")) < CHATS * ROUNDS + BURST_CHATS * BURST:
                    await asyncio.sleep(0.1)
            assert not [c for c in api.calls_to("sendMessage") if "Try /face again" in str(c.params["text"])]
            print("\n" + figures.line())
        finally:
            await running.close()


async def test_discord_under_load(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, round_seconds=SECONDS, round_gap_seconds=1.0, posted_size=64)
    fake = await FakeDiscord().start()
    figment = await Figment.open(settings, DirectSource(DrawnFaceModel()))
    try:
        await add_real_photos(figment)
        users = [user(9000 + n, f"Player {n}") for n in range(PLAYERS)]
        guilds, channels, members = [], [], []
        for n in range(CHATS):
            guild = fake.add_guild(f"Server {n}")
            channels.append(guild.add_text_channel("quiz"))
            chat_members = [FakeMember(users[k], MEMBER_PERMISSIONS) for k in players_of(n)]
            for member in chat_members:
                guild.members[member.id] = member
            guilds.append(guild)
            members.append(chat_members)
        fake.fault("POST", r"/channels/\d+/messages", 429, retry_after=1.0, times=3)
        rng = random.Random(18)
        async with running_bot(fake, figment):
            starts = [await fake.slash("quiz", members[n][0], channels[n], rounds=ROUNDS) for n in range(CHATS)]
            faces = [await fake.slash("face", members[n][k % 3], channels[n])
                     for n in range(BURST_CHATS) for k in range(BURST)]
            clicked: set[int] = set()
            clicks: list[tuple[object, str]] = []

            async def click_new_rounds() -> None:
                for n, channel in enumerate(channels):
                    for message in fake.channel_messages(channel):
                        if not message.get("components") or int(message["id"]) in clicked:
                            continue
                        if buttons(message)[0].get("disabled"):
                            continue
                        clicked.add(int(message["id"]))
                        rid = round_id_of(message)
                        for k, member in enumerate(members[n]):
                            custom_id = answer_id(rid, rng.random() < 0.5)
                            clicks.append((await fake.click(message, custom_id, member), texts.ANSWER_RECORDED))
                            if k == 0:
                                clicks.append((await fake.click(message, custom_id, member), texts.ANSWER_ALREADY))

            def over() -> int:
                return sum(1 for channel in channels for m in fake.channel_messages(channel)
                           if m["content"].startswith("Game"))

            async with asyncio.timeout(50):
                while over() < CHATS:
                    await click_new_rounds()
                    await asyncio.sleep(0.1)
            for interaction, expected in clicks:
                assert (await fake.reply(interaction))["content"] == expected  # type: ignore[arg-type]
            for interaction in starts + faces:
                await fake.reply(interaction)
        posted_at = {}
        for request in fake.requests:
            if request.ok and request.method == "POST" and request.path.startswith("/channels/") \
                    and request.response and request.response.get("components"):
                posted_at[round_id_of(request.response)] = request.at
        figures = Figures("Discord", met_429=fake.rate_limited + sum(f.hits for f in fake.faults),
                          breaches=dict(fake.breaches))
        await check_rounds(figment, posted_at, figures)
        assert figures.rounds == CHATS * ROUNDS and figures.answers == CHATS * ROUNDS * PER_CHAT
        assert not fake.breaches
        print("\n" + figures.line())
    finally:
        await figment.close()
        await fake.close()
