"""The fake gateway: HELLO, heartbeats, IDENTIFY -> READY + GUILD_CREATE, RESUME with replay.

Every dispatch gets the session's next sequence number and stays in the session's log, so a
client that drops and RESUMEs receives exactly the events it had not seen, once.
"""
from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

if TYPE_CHECKING:
    from tests.discord_fake.server import FakeDiscord

HELLO, HEARTBEAT, IDENTIFY, RESUME, RECONNECT, INVALID_SESSION, HEARTBEAT_ACK = 10, 1, 2, 6, 7, 9, 11
DISPATCH = 0


@dataclass
class Session:
    id: str
    sequence: int = 0
    log: list[dict[str, Any]] = field(default_factory=list)


class FakeGateway:
    def __init__(self, discord: "FakeDiscord") -> None:
        self.discord = discord
        self.sessions: dict[str, Session] = {}
        self.session: Session | None = None  # the session of the latest IDENTIFY or RESUME
        self.socket: web.WebSocketResponse | None = None  # its connection, while open
        self.connects = 0
        self.identifies = 0
        self.resumes = 0
        self.received: list[dict[str, Any]] = []  # what clients sent (ops other than heartbeats)

    @property
    def connected(self) -> bool:
        return self.socket is not None and not self.socket.closed

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self.connects += 1
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
                await self._identify(socket, data)
            elif op == RESUME:
                await self._resume(socket, data)
        if self.socket is socket:
            self.socket = None
        await self.discord.changed()
        return socket

    async def _identify(self, socket: web.WebSocketResponse, data: dict[str, Any]) -> None:
        if data.get("token") != self.discord.token:
            await socket.close(code=4004, message=b"Authentication failed.")
            return
        session = Session(secrets.token_hex(8))
        self.sessions[session.id] = session
        self.session, self.socket = session, socket
        self.identifies += 1
        discord = self.discord
        await self.dispatch("READY", {
            "v": 10, "user": discord.bot_user, "session_id": session.id, "session_type": "normal",
            "resume_gateway_url": discord.gateway_url,
            "guilds": [{"id": str(guild.id), "unavailable": True} for guild in discord.guilds.values()],
            "application": {"id": str(discord.application_id), "flags": 0},
            "private_channels": [], "relationships": [], "presences": [], "geo_ordered_rtc_regions": [],
        })
        for guild in discord.guilds.values():
            await self.dispatch("GUILD_CREATE", guild.payload(discord.bot_member(guild)))
        await discord.changed()

    async def _resume(self, socket: web.WebSocketResponse, data: dict[str, Any]) -> None:
        session = self.sessions.get(data.get("session_id", ""))
        if session is None or data.get("token") != self.discord.token:
            await socket.send_str(json.dumps({"op": INVALID_SESSION, "d": False}))
            return
        self.session, self.socket = session, socket
        self.resumes += 1
        seen = data.get("seq") or 0
        for event in session.log:  # what the client missed, in order
            if event["s"] > seen:
                await socket.send_str(json.dumps(event))
        session.sequence += 1
        await socket.send_str(json.dumps({"op": DISPATCH, "t": "RESUMED", "s": session.sequence, "d": {}}))
        await self.discord.changed()

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send an event on the current session; kept for replay if the client is away."""
        session = self.session
        assert session is not None, "no client has identified yet"
        session.sequence += 1
        payload = {"op": DISPATCH, "t": event, "s": session.sequence, "d": data}
        session.log.append(payload)
        if self.connected:
            try:
                await self.socket.send_str(json.dumps(payload))  # type: ignore[union-attr]
            except ConnectionError:
                pass  # the client left mid-send: it gets the event when it resumes

    # -- faults --
    async def ask_to_reconnect(self) -> None:
        """Opcode 7: the client should close and RESUME."""
        assert self.socket is not None
        await self.socket.send_str(json.dumps({"op": RECONNECT, "d": None}))

    async def drop(self, code: int = 4000) -> None:
        """Close the connection as a failing gateway would; 4000 lets the client RESUME."""
        socket, self.socket = self.socket, None
        if socket is not None:
            await socket.close(code=code, message=b"dropped by the fake")
