"""The fake gateway: HELLO, heartbeats, IDENTIFY -> READY + GUILD_CREATE, RESUME with replay, shards.

Every dispatch gets the session's next sequence number and stays in the session's log, so a
client that drops and RESUMEs receives exactly the events it had not seen, once.

Shards as Discord has them: IDENTIFY may carry "shard": [id, count]; that session's READY and
GUILD_CREATEs list only the guilds of its shard ((guild_id >> 22) % count), and each event goes to
the session of its guild's shard (direct messages: shard 0). Without "shard" a client is shard 0
of 1 and gets every guild. A shard whose client went away keeps its session: its events wait in
its log for a RESUME that may never come (a dead process's guilds hear nothing until it is back).
"""
from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from bot.ops.shards import shard_of

if TYPE_CHECKING:
    from tests.discord_fake.server import FakeDiscord

HELLO, HEARTBEAT, IDENTIFY, RESUME, RECONNECT, INVALID_SESSION, HEARTBEAT_ACK = 10, 1, 2, 6, 7, 9, 11
DISPATCH = 0
INVALID_SHARD = 4010


@dataclass
class Session:
    id: str
    shard: tuple[int, int] = (0, 1)  # (shard id, shard count) as identified
    via: str = ""  # the path prefix the client connected through (tells test processes apart)
    sequence: int = 0
    log: list[dict[str, Any]] = field(default_factory=list)
    socket: web.WebSocketResponse | None = None  # its connection, while open

    @property
    def connected(self) -> bool:
        return self.socket is not None and not self.socket.closed


class FakeGateway:
    def __init__(self, discord: "FakeDiscord") -> None:
        self.discord = discord
        self.sessions: dict[str, Session] = {}
        self.shards: dict[int, Session] = {}  # shard id -> the session of its latest IDENTIFY or RESUME
        self.shard_count = 1  # as the clients identified (what events are routed by)
        self.connects = 0
        self.identifies = 0
        self.resumes = 0
        self.received: list[dict[str, Any]] = []  # what clients sent (ops other than heartbeats)

    @property
    def session(self) -> Session | None:
        """Shard 0's session (the only one of an unsharded bot)."""
        return self.shards.get(0)

    @property
    def socket(self) -> web.WebSocketResponse | None:
        session = self.session
        return session.socket if session is not None else None

    @property
    def connected(self) -> bool:
        return any(session.connected for session in self.shards.values())

    def connected_shards(self) -> set[int]:
        return {shard for shard, session in self.shards.items() if session.connected}

    def shard_for(self, guild_id: int | None) -> int:
        return 0 if guild_id is None else shard_of(guild_id, self.shard_count)

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self.connects += 1
        via = request.match_info.get("via", "")
        await socket.send_str(json.dumps({"op": HELLO, "d": {"heartbeat_interval": 41250}}))
        async for frame in socket:
            if frame.type is not WSMsgType.TEXT:
                break
            payload = json.loads(frame.data)
            op, data = payload.get("op"), payload.get("d")
            if op == HEARTBEAT:
                await socket.send_str(json.dumps({"op": HEARTBEAT_ACK}))
                continue
            self.received.append(payload)
            if op == IDENTIFY:
                await self._identify(socket, data, via, _resume_url(request))
            elif op == RESUME:
                await self._resume(socket, data)
        for session in self.shards.values():
            if session.socket is socket:
                session.socket = None
        await self.discord.changed()
        return socket

    async def _identify(self, socket: web.WebSocketResponse, data: dict[str, Any], via: str,
                        resume_url: str) -> None:
        if data.get("token") != self.discord.token:
            await socket.close(code=4004, message=b"Authentication failed.")
            return
        shard_id, count = data.get("shard") or (0, 1)
        if not (isinstance(shard_id, int) and isinstance(count, int) and 0 <= shard_id < count):
            await socket.close(code=INVALID_SHARD, message=b"Invalid shard.")
            return
        session = Session(secrets.token_hex(8), (shard_id, count), via, socket=socket)
        self.sessions[session.id] = session
        old = self.shards.get(shard_id)
        if old is not None and old.connected and old.socket is not socket:
            await old.socket.close(code=4000, message=b"another session took this shard")  # type: ignore[union-attr]
        self.shards[shard_id] = session
        self.shard_count = count
        self.identifies += 1
        discord = self.discord
        guilds = [guild for guild in discord.guilds.values()
                  if shard_of(guild.id, count) == shard_id and guild.bot_installed]  # a user install joins no server
        await self._send(session, "READY", {
            "v": 10, "user": discord.bot_user, "session_id": session.id, "session_type": "normal",
            "resume_gateway_url": resume_url, "shard": [shard_id, count],
            "guilds": [{"id": str(guild.id), "unavailable": True} for guild in guilds],
            "application": {"id": str(discord.application_id), "flags": 0},
            "private_channels": [], "relationships": [], "presences": [], "geo_ordered_rtc_regions": [],
        })
        for guild in guilds:
            await self._send(session, "GUILD_CREATE", guild.payload(discord.bot_member(guild)))
        await discord.changed()

    async def _resume(self, socket: web.WebSocketResponse, data: dict[str, Any]) -> None:
        session = self.sessions.get(data.get("session_id", ""))
        if session is None or data.get("token") != self.discord.token:
            await socket.send_str(json.dumps({"op": INVALID_SESSION, "d": False}))
            return
        session.socket = socket
        self.shards[session.shard[0]] = session
        self.resumes += 1
        seen = data.get("seq") or 0
        for event in session.log:  # what the client missed, in order
            if event["s"] > seen:
                await socket.send_str(json.dumps(event))
        session.sequence += 1
        await socket.send_str(json.dumps({"op": DISPATCH, "t": "RESUMED", "s": session.sequence, "d": {}}))
        await self.discord.changed()

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send an event to the shard of its guild (shard 0 without one); kept for replay if that
        shard's client is away."""
        guild_id = data.get("guild_id")
        shard = self.shard_for(int(guild_id) if guild_id is not None else None)
        session = self.shards.get(shard)
        assert session is not None, f"no client has identified for shard {shard} yet"
        await self._send(session, event, data)

    @staticmethod
    async def _send(session: Session, event: str, data: dict[str, Any]) -> None:
        session.sequence += 1
        payload = {"op": DISPATCH, "t": event, "s": session.sequence, "d": data}
        session.log.append(payload)
        if session.connected:
            try:
                await session.socket.send_str(json.dumps(payload))  # type: ignore[union-attr]
            except ConnectionError:
                pass  # the client left mid-send: it gets the event when it resumes

    # -- faults --
    async def ask_to_reconnect(self, shard: int = 0) -> None:
        """Opcode 7: the client should close and RESUME."""
        socket = self.shards[shard].socket
        assert socket is not None
        await socket.send_str(json.dumps({"op": RECONNECT, "d": None}))

    async def drop(self, code: int = 4000, shard: int | None = None) -> None:
        """Close the connection (of one shard, or all) as a failing gateway would; 4000 lets the
        client RESUME."""
        for shard_id, session in list(self.shards.items()):
            if shard is not None and shard_id != shard:
                continue
            socket, session.socket = session.socket, None
            if socket is not None:
                await socket.close(code=code, message=b"dropped by the fake")


def _resume_url(request: web.Request) -> str:
    """Where the client connected, as a ws:// URL: it resumes there."""
    url = request.url.with_query(None)
    return str(url.with_scheme("wss" if url.scheme == "https" else "ws"))
