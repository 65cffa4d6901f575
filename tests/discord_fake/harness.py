"""Test helpers: a server with channels and members, and the real bot served against the fake."""
from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, AsyncIterator

import pytest

from bot.app import Figment
from db.models import Round
from bot.discord_app import serve
from tests.discord_fake.payloads import ALL_PERMISSIONS, FakeGuild, FakeMember
from tests.discord_fake.server import FakeDiscord, FakeInteraction


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    """A fresh fake Discord (REST and gateway) for one test; the Discord tests import this fixture."""
    server = await FakeDiscord().start()
    yield server
    await server.close()


@dataclass
class World:
    fake: FakeDiscord
    guild: FakeGuild
    general: dict[str, Any]
    quiz_room: dict[str, Any]
    admin: FakeMember
    members: list[FakeMember]


def make_world(fake: FakeDiscord, names: list[str]) -> World:
    guild = fake.add_guild("Test server")
    general = guild.add_text_channel("general")
    quiz_room = guild.add_text_channel("quiz")
    admin = fake.add_member(guild, "Admin", permissions=ALL_PERMISSIONS)
    members = [fake.add_member(guild, name) for name in names]
    return World(fake, guild, general, quiz_room, admin, members)


@asynccontextmanager
async def running_bot(fake: FakeDiscord, figment: Figment, **options: Any) -> AsyncIterator[asyncio.Task[None]]:
    """serve() in a task, connected to the fake's gateway; stopped cleanly on exit."""
    stop = asyncio.Event()
    before = fake.gateway.identifies
    task = asyncio.create_task(serve(figment, fake.token, stop, base_url=fake.rest_base,
                                     gateway_url=fake.gateway_url, guild_ready_timeout=0.05, **options))
    task.add_done_callback(lambda _: asyncio.ensure_future(fake.changed()))
    try:
        await fake.wait_for(lambda: task.done() or fake.gateway.identifies > before, 15, "the bot to connect")
        if task.done():
            task.result()  # raises what stopped it
        yield task
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)


def answer_id(round_id: int, real: bool) -> str:
    return f"figment:answer:{round_id}:{'r' if real else 'f'}"


def round_id_of(message: dict[str, Any]) -> int:
    custom_id = message["components"][0]["components"][0]["custom_id"]
    return int(custom_id.split(":")[2])


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for row in message["components"] for c in row["components"]]


async def ephemeral_text(fake: FakeDiscord, interaction: FakeInteraction, timeout: float = 10.0) -> str:
    """The text of a private (ephemeral) answer, checking it really is private."""
    message = await fake.reply(interaction, timeout)
    assert int(message["flags"]) & 64, f"not ephemeral: {message['content']!r}"
    return message["content"]


async def wait_message_ref_stored(figment: Figment, round_id: int, timeout: float = 5.0) -> None:
    """The core stores a round's message reference just after the post; a process that dies
    in between cannot reveal that round later, so this test waits for it (polling the database)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        async with figment.db.transaction() as session:
            if (await session.get(Round, round_id)).message_ref:  # type: ignore[union-attr]
                return
        assert asyncio.get_running_loop().time() < deadline, "the round's message was never stored"
        await asyncio.sleep(0.02)
