"""A local Discord for end-to-end tests of the real discord.py client.

REST lives under `rest_base` (point `discord.http.Route.BASE` at it) and the gateway at
`gateway_url` (point `DiscordWebSocket.DEFAULT_GATEWAY` at it). `rest_base_via(name)` and
`gateway_url_via(name)` are the same under a path prefix that is recorded with each request and
session, so a test with several bot processes can tell which one did what. The gateway speaks
shards (tests/discord_fake/gateway.py); GET /gateway/bot recommends `recommended_shards`. Every REST request is recorded,
messages are kept with their uploaded files, and interactions behave as Discord's do: one initial
response within `interaction_window` seconds (else 404 Unknown interaction), then edits and
follow-ups through the application's webhook. Faults: `fault()` answers chosen requests with a
429 (with retry_after), a 5xx or a delay; the gateway can ask the client to reconnect or drop it.

It is as strict as Discord where the bot could meet a limit (tests/discord_fake/limits.py cites
each): content, embed and component sizes on every create and edit, upload size, the 3-second
first response, the 15-minute interaction token, and rate-limit buckets answered with headers and
429s. Every refusal for a limit is counted in `breaches`, so a test can assert there were none.

Installs and contexts as Discord has them: a command is offered only where its integration_types and
contexts allow (`slash` refuses otherwise, unless `stale_client`); an interaction carries its
`context` (0 a server, 1 the bot's DM, 2 other users' DMs) and `authorizing_integration_owners`;
a server added with `bot_installed = False` and DMs from `add_private_channel` are reached only by
a user install, and the bot's channel requests there are refused with 403 Missing Access.

Unlike Discord, the fake does not enforce option ranges or disabled buttons, so tests can send
what an outdated client or a hand-made request could. Replies carry Content-Type
"application/json" exactly: discord.py parses nothing else as JSON.
"""
from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from aiohttp import web
from aiohttp.web_request import FileField

from bot.ops.shards import shard_of
from tests.discord_fake import payloads as p
from tests.discord_fake import limits
from tests.discord_fake.gateway import FakeGateway
from tests.discord_fake.limits import Breach, RateLimits

API = "/api/v10"
EPHEMERAL, LOADING = 1 << 6, 1 << 7
APPLICATION_COMMAND, MESSAGE_COMPONENT = 2, 3


@dataclass
class Upload:
    field: str
    filename: str
    content_type: str
    data: bytes


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    uploads: list[Upload]
    headers: dict[str, str]
    status: int = 0
    faulted: bool = False
    response: Any = None
    at: float = 0.0  # wall-clock time the request arrived (time.time())
    via: str = ""  # the path prefix it came through (rest_base_via), "" for rest_base

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass
class Fault:
    method: str
    pattern: re.Pattern[str]
    status: int | None  # None: only delay, then answer normally
    retry_after: float = 0.25
    times: int = 1
    delay: float = 0.0
    hits: int = 0


@dataclass
class FakeInteraction:
    id: int
    token: str
    type: int
    channel_id: int
    guild_id: int | None
    user_id: int
    created: float
    message_id: int | None = None  # the message whose button was clicked
    acknowledged: bool = False
    original_id: int | None = None  # the response message
    followup_ids: list[int] = field(default_factory=list)
    context: int = 0  # 0 a server, 1 the bot's DM, 2 another DM or group DM
    install: int = 0  # 0 the server's install of the app, 1 the user's


class FakeDiscord:
    def __init__(self, *, token: str = "fake-token", interaction_window: float = limits.FIRST_RESPONSE,
                 token_lifetime: float = limits.TOKEN_LIFETIME, rate_limits: RateLimits | None = None,
                 recommended_shards: int = 1) -> None:
        self.token = token
        self.recommended_shards = recommended_shards  # GET /gateway/bot's "shards"
        self.interaction_window = interaction_window
        self.token_lifetime = token_lifetime
        self.rate_limits = rate_limits or RateLimits()
        self.breaches: Counter[str] = Counter()  # limit -> refusals; a bot within every limit has none
        # what interactions report as attachment_size_limit and uploads are held to (a guild's boost
        # level raises it; a test lowers it to see the bot keep to whatever it is told)
        self.upload_bytes = limits.UPLOAD_BYTES
        self.rate_limited = 0  # 429s answered for a bucket or the global limit (also in breaches)
        self.application_id = p.snowflake()
        self.bot_user = p.user(self.application_id, "Figment", bot=True)
        self.owner = p.user(p.snowflake(), "Owner")
        self.guilds: dict[int, p.FakeGuild] = {}
        self.dm_channels: dict[int, dict[str, Any]] = {}
        self.private_channels: set[int] = set()  # DMs and group DMs without the bot (add_private_channel)
        self.requests: list[Recorded] = []
        self.messages: dict[int, dict[str, Any]] = {}
        self.files: dict[int, bytes] = {}  # attachment id -> bytes
        self.commands: dict[str, list[dict[str, Any]]] = {}  # 'global' or guild id -> synced commands
        self.interactions: dict[str, FakeInteraction] = {}  # by token
        self.faults: list[Fault] = []
        self.gateway = FakeGateway(self)
        self._condition = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.base = ""

    # -- life --
    async def start(self) -> "FakeDiscord":
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_get("/via/{via}/gateway", self.gateway.handle)
        app.router.add_get("/attachments/{attachment_id}/{filename}", self._attachment)
        app.router.add_route("*", API + "/{tail:.*}", self._rest)
        app.router.add_route("*", "/via/{via}" + API + "/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base = f"http://127.0.0.1:{port}"
        return self

    async def close(self) -> None:
        await self.gateway.drop(1001)
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def rest_base(self) -> str:
        return self.base + API

    @property
    def gateway_url(self) -> str:
        return self.base.replace("http://", "ws://") + "/gateway"

    def rest_base_via(self, via: str) -> str:
        return f"{self.base}/via/{via}{API}"

    def gateway_url_via(self, via: str) -> str:
        return self.base.replace("http://", "ws://") + f"/via/{via}/gateway"

    async def changed(self) -> None:
        async with self._condition:
            self._condition.notify_all()

    async def wait_for(self, check: Callable[[], Any], timeout: float = 10.0, what: str = "a condition") -> Any:
        """Wait until check() returns something truthy (re-checked on every request and event)."""
        async def wait() -> Any:
            async with self._condition:
                while True:
                    result = check()
                    if result:
                        return result
                    await self._condition.wait()
        try:
            return await asyncio.wait_for(wait(), timeout)
        except asyncio.TimeoutError:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}") from None

    # -- the world --
    def add_guild(self, name: str = "Test server", *, shard: tuple[int, int] | None = None) -> p.FakeGuild:
        """A guild; shard=(id, count) gives it an id on that shard."""
        guild_id = p.snowflake()
        if shard is not None:
            while shard_of(guild_id, shard[1]) != shard[0]:
                guild_id += 1 << 22  # the shard is read from the id's timestamp bits
        guild = p.FakeGuild(guild_id, name, int(self.owner["id"]))
        self.guilds[guild.id] = guild
        return guild

    def add_member(self, guild: p.FakeGuild, name: str, *, permissions: int = p.MEMBER_PERMISSIONS,
                   nick: str | None = None, locale: str = "en-US") -> p.FakeMember:
        member = p.FakeMember(p.user(p.snowflake(), name), permissions, nick, locale)
        guild.members[member.id] = member
        return member

    def add_dm(self, member: p.FakeMember) -> dict[str, Any]:
        channel = {"id": str(p.snowflake()), "type": p.DM_CHANNEL, "recipients": [member.user],
                   "last_message_id": None}
        self.dm_channels[int(channel["id"])] = channel
        return channel

    def add_private_channel(self, members: list[p.FakeMember], *, group: bool = False) -> dict[str, Any]:
        """A DM between users (or a group DM) the bot is not part of: only a user-installed app
        reaches it, through interactions (context 2, PRIVATE_CHANNEL)."""
        channel = {"id": str(p.snowflake()), "type": p.GROUP_DM_CHANNEL if group else p.DM_CHANNEL,
                   "recipients": [m.user for m in members], "last_message_id": None}
        if group:
            channel.update(name=None, icon=None, owner_id=members[0].user["id"])
        self.dm_channels[int(channel["id"])] = channel
        self.private_channels.add(int(channel["id"]))
        return channel

    def bot_member(self, guild: p.FakeGuild) -> p.FakeMember:
        return p.FakeMember(self.bot_user, p.MEMBER_PERMISSIONS)

    def _channel(self, channel_id: int) -> tuple[dict[str, Any] | None, p.FakeGuild | None]:
        for guild in self.guilds.values():
            if channel_id in guild.channels:
                return guild.channels[channel_id], guild
        return self.dm_channels.get(channel_id), None

    # -- faults --
    def fault(self, method: str, path: str, status: int | None, *, retry_after: float = 0.25,
              times: int = 1, delay: float = 0.0) -> Fault:
        """Answer the next `times` requests whose path matches the regex `path` with `status`."""
        fault = Fault(method.upper(), re.compile(path), status, retry_after, times, delay)
        self.faults.append(fault)
        return fault

    def _take_fault(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.hits < fault.times and fault.method == method and fault.pattern.search(path):
                fault.hits += 1
                return fault
        return None

    # -- REST --
    async def _rest(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        body, uploads = await _read_body(request)
        record = Recorded(request.method, path, dict(request.query), body, uploads, dict(request.headers),
                          at=time.time(), via=request.match_info.get("via", ""))
        self.requests.append(record)
        fault = self._take_fault(request.method, path)
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        if fault is not None and fault.status is not None:
            record.status, record.faulted = fault.status, True
            await self.changed()
            return _fault_response(fault)
        verdict = self.rate_limits.admit(request.method, path, time.monotonic(), time.time())
        if verdict.retry_after > 0:
            self.breaches["rate limit"] += 1
            self.rate_limited += 1
            record.status = 429
            await self.changed()
            return _rate_limited(verdict)
        try:
            status, answer = await self._route(record)
        except Breach as breach:
            self.breaches[breach.limit] += 1
            status, answer = breach.status, {"message": breach.message, "code": breach.code}
        record.status, record.response = status, answer
        await self.changed()
        if status == 204:
            return web.Response(status=204, headers=verdict.headers)
        return _json(status, answer, verdict.headers)

    async def _route(self, record: Recorded) -> tuple[int, Any]:
        for method, pattern, handler in self._routes():
            match = re.fullmatch(pattern, record.path)
            if match and method == record.method:
                bot_route = not record.path.startswith(("/interactions/", "/webhooks/"))
                if bot_route and record.headers.get("Authorization") != f"Bot {self.token}":
                    return 401, {"message": "401: Unauthorized", "code": 0}
                return await handler(record, *match.groups())
        return 404, {"message": f"the fake has no route {record.method} {record.path}", "code": 0}

    def _routes(self) -> list[tuple[str, str, Callable[..., Awaitable[tuple[int, Any]]]]]:
        return [
            ("GET", r"/users/@me", self._me),
            ("GET", r"/gateway/bot", self._gateway_bot),
            ("GET", r"/oauth2/applications/@me", self._application),
            ("PUT", r"/applications/(\d+)/commands", self._put_commands),
            ("PUT", r"/applications/(\d+)/guilds/(\d+)/commands", self._put_commands),
            ("POST", r"/interactions/(\d+)/([^/]+)/callback", self._callback),
            ("PATCH", r"/webhooks/(\d+)/([^/]+)/messages/(@original|\d+)", self._edit_webhook_message),
            ("GET", r"/webhooks/(\d+)/([^/]+)/messages/(@original|\d+)", self._get_webhook_message),
            ("DELETE", r"/webhooks/(\d+)/([^/]+)/messages/(@original|\d+)", self._delete_webhook_message),
            ("POST", r"/webhooks/(\d+)/([^/]+)", self._followup),
            ("POST", r"/channels/(\d+)/messages", self._create_message),
            ("PATCH", r"/channels/(\d+)/messages/(\d+)", self._edit_channel_message),
            ("GET", r"/channels/(\d+)/messages/(\d+)", self._get_channel_message),
        ]

    async def _me(self, record: Recorded) -> tuple[int, Any]:
        return 200, {**self.bot_user, "verified": True, "mfa_enabled": False, "flags": 0}

    async def _gateway_bot(self, record: Recorded) -> tuple[int, Any]:
        gateway = self.gateway_url_via(record.via) if record.via else self.gateway_url
        return 200, {"url": gateway, "shards": self.recommended_shards,
                     "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 14_400_000,
                                             "max_concurrency": 1}}

    async def _application(self, record: Recorded) -> tuple[int, Any]:
        return 200, {"id": str(self.application_id), "name": "Figment", "icon": None, "description": "",
                     "rpc_origins": [], "bot_public": True, "bot_require_code_grant": False,
                     "owner": self.owner, "team": None, "verify_key": "0" * 64, "flags": 0, "summary": "",
                     "bot": self.bot_user}

    async def _put_commands(self, record: Recorded, application_id: str, guild_id: str | None = None
                            ) -> tuple[int, Any]:
        if int(application_id) != self.application_id:
            return 403, {"message": "Missing Access", "code": 50001}
        refused = limits.command_problems(record.body)
        if refused:  # Discord checks every name, description and localization, and takes none of a bad set
            return 400, {"message": "Invalid Form Body", "code": 50035, "errors": refused}
        synced = []
        for command in record.body:
            entry = {"description": "", **command, "id": str(p.snowflake()), "application_id": application_id,
                     "version": str(p.snowflake())}  # Discord answers context menus with an empty description
            if entry.get("default_member_permissions") is not None:  # Discord answers with a string
                entry["default_member_permissions"] = str(entry["default_member_permissions"])
            if guild_id is not None:
                entry["guild_id"] = guild_id
            synced.append(entry)
        self.commands[guild_id or "global"] = synced
        return 200, synced

    # -- messages --
    def _store_files(self, listed: list[dict[str, Any]] | None, uploads: list[Upload],
                     kept: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The message's attachments after a create or edit: listed old ones kept, uploads added."""
        by_index = {int(m.group(1)): u for u in uploads if (m := re.fullmatch(r"files\[(\d+)\]", u.field))}
        old = {a["id"]: a for a in kept}
        result = []
        entries = listed if listed is not None else [{"id": i} for i in sorted(by_index)]
        for entry in entries:
            key = str(entry["id"])
            if key in old:
                result.append(old[key])
            elif int(entry["id"]) in by_index:
                upload = by_index[int(entry["id"])]
                attachment_id = p.snowflake()
                self.files[attachment_id] = upload.data
                result.append(p.attachment(attachment_id, upload.filename, len(upload.data),
                                           upload.content_type, self.base))
        return result

    def _new_message(self, channel_id: int, body: dict[str, Any], uploads: list[Upload], *,
                     webhook: bool = False, flags: int = 0) -> dict[str, Any]:
        _, guild = self._channel(channel_id)
        message = p.message(p.snowflake(), channel_id, guild.id if guild else None, self.bot_user,
                            webhook_id=self.application_id if webhook else None,
                            flags=flags | int(body.get("flags") or 0))
        self._apply(message, body, uploads, edit=False)
        self.messages[int(message["id"])] = message
        return message

    def _apply(self, message: dict[str, Any], body: dict[str, Any], uploads: list[Upload], *, edit: bool) -> None:
        for key in ("content", "embeds", "components"):
            if key in body:
                message[key] = body[key] if body[key] is not None else ([] if key != "content" else "")
        if "attachments" in body or uploads:
            message["attachments"] = self._store_files(body.get("attachments"), uploads,
                                                       message["attachments"] if edit else [])
        if edit:
            message["edited_timestamp"] = p.now_iso()
            message["flags"] = int(message["flags"]) & ~LOADING

    def _bot_absent(self, channel_id: int) -> bool:
        """The bot user cannot see this channel: a server it is not in, or other users' DM."""
        _, guild = self._channel(channel_id)
        return channel_id in self.private_channels or (guild is not None and not guild.bot_installed)

    async def _create_message(self, record: Recorded, channel_id: str) -> tuple[int, Any]:
        channel, _ = self._channel(int(channel_id))
        if channel is None:
            return 404, {"message": "Unknown Channel", "code": 10003}
        if self._bot_absent(int(channel_id)):  # a user install gives no channel access: interactions only
            raise Breach("missing access", "Missing Access", code=50001, status=403)
        _check(record, self.upload_bytes)
        return 200, self._new_message(int(channel_id), record.body or {}, record.uploads)

    async def _edit_channel_message(self, record: Recorded, channel_id: str, message_id: str) -> tuple[int, Any]:
        message = self.messages.get(int(message_id))
        if message is None or message["channel_id"] != channel_id:
            return 404, {"message": "Unknown Message", "code": 10008}
        if self._bot_absent(int(channel_id)):
            raise Breach("missing access", "Missing Access", code=50001, status=403)
        _check(record, self.upload_bytes)
        self._apply(message, record.body or {}, record.uploads, edit=True)
        return 200, message

    async def _get_channel_message(self, record: Recorded, channel_id: str, message_id: str) -> tuple[int, Any]:
        message = self.messages.get(int(message_id))
        if message is None or message["channel_id"] != channel_id:
            return 404, {"message": "Unknown Message", "code": 10008}
        return 200, message

    # -- interactions --
    async def _callback(self, record: Recorded, interaction_id: str, token: str) -> tuple[int, Any]:
        interaction = self.interactions.get(token)
        late = interaction is not None and time.monotonic() - interaction.created > self.interaction_window
        if interaction is not None and late:
            raise Breach("first response", "Unknown interaction", code=10062, status=404)
        if interaction is None or interaction.id != int(interaction_id):
            return 404, {"message": "Unknown interaction", "code": 10062}
        if interaction.acknowledged:
            return 400, {"message": "Interaction has already been acknowledged.", "code": 40060}
        kind = int(record.body["type"])
        data = record.body.get("data") or {}
        limits.check_message(data, [len(u.data) for u in record.uploads], self.upload_bytes)
        interaction.acknowledged = True
        message = None
        if kind == 4:  # a message
            message = self._new_message(interaction.channel_id, data, record.uploads, webhook=True)
            interaction.original_id = int(message["id"])
        elif kind == 5:  # "thinking": a loading message, completed by an edit of @original
            message = self._new_message(interaction.channel_id, {"content": ""}, [], webhook=True,
                                        flags=LOADING | (int(data.get("flags") or 0) & EPHEMERAL))
            interaction.original_id = int(message["id"])
        elif kind == 7 and interaction.message_id is not None:  # update the clicked message
            message = self.messages[interaction.message_id]
            self._apply(message, data, record.uploads, edit=True)
            interaction.original_id = interaction.message_id
        elif kind == 6 and interaction.message_id is not None:  # update it later: @original is that message
            interaction.original_id = interaction.message_id
        if record.query.get("with_response") not in ("1", "true", "True"):
            return 204, None
        answer: dict[str, Any] = {"interaction": {
            "id": interaction_id, "type": interaction.type,
            "response_message_id": message["id"] if message else None,
            "response_message_loading": kind == 5,
            "response_message_ephemeral": bool(message and int(message["flags"]) & EPHEMERAL)}}
        if message is not None:
            answer["resource"] = {"type": kind, "message": message}
        return 200, answer

    def _webhook_target(self, application_id: str, token: str, which: str
                        ) -> tuple[FakeInteraction | None, dict[str, Any] | None]:
        interaction = self.interactions.get(token)
        if interaction is None or int(application_id) != self.application_id:
            return None, None
        if time.monotonic() - interaction.created > self.token_lifetime:
            raise Breach("token lifetime", "Invalid Webhook Token", code=50027, status=401)
        message_id = interaction.original_id if which == "@original" else int(which)
        if which != "@original" and message_id not in (interaction.original_id, *interaction.followup_ids):
            return interaction, None  # Discord: a token edits only its own response and follow-ups
        return interaction, self.messages.get(message_id) if message_id is not None else None

    async def _edit_webhook_message(self, record: Recorded, application_id: str, token: str, which: str
                                    ) -> tuple[int, Any]:
        _, message = self._webhook_target(application_id, token, which)
        if message is None:
            return 404, {"message": "Unknown Message", "code": 10008}
        _check(record, self.upload_bytes)
        self._apply(message, record.body or {}, record.uploads, edit=True)
        return 200, message

    async def _get_webhook_message(self, record: Recorded, application_id: str, token: str, which: str
                                   ) -> tuple[int, Any]:
        _, message = self._webhook_target(application_id, token, which)
        if message is None:
            return 404, {"message": "Unknown Message", "code": 10008}
        return 200, message

    async def _delete_webhook_message(self, record: Recorded, application_id: str, token: str, which: str
                                      ) -> tuple[int, Any]:
        _, message = self._webhook_target(application_id, token, which)
        if message is None:
            return 404, {"message": "Unknown Message", "code": 10008}
        message["deleted"] = True
        return 204, None

    async def _followup(self, record: Recorded, application_id: str, token: str) -> tuple[int, Any]:
        interaction, _ = self._webhook_target(application_id, token, "@original")
        if interaction is None or not interaction.acknowledged:
            return 404, {"message": "Unknown Webhook", "code": 10015}
        _check(record, self.upload_bytes)
        message = self._new_message(interaction.channel_id, record.body or {}, record.uploads, webhook=True)
        interaction.followup_ids.append(int(message["id"]))
        if record.query.get("wait") in ("true", "True", "1"):
            return 200, message
        return 204, None

    # -- what users do --
    def _where(self, channel: dict[str, Any], install: int | None) -> tuple[int, int]:
        """(context, installation type) of an interaction in channel: a server's channel is context 0,
        the bot's DM 1, other users' DMs and group DMs 2 (reached only by a user install); in a server
        the bot is not in, only a user install can answer."""
        channel_id = int(channel["id"])
        _, guild = self._channel(channel_id)
        if guild is not None:
            context = p.GUILD_CONTEXT
            default = p.GUILD_INSTALL if guild.bot_installed else p.USER_INSTALL
        elif channel_id in self.private_channels:
            context, default = p.PRIVATE_CHANNEL_CONTEXT, p.USER_INSTALL
        else:
            context, default = p.BOT_DM_CONTEXT, p.GUILD_INSTALL
        install = default if install is None else install
        if install == p.GUILD_INSTALL and context == p.PRIVATE_CHANNEL_CONTEXT:
            raise AssertionError("a guild install never reaches other users' DMs")
        if install == p.GUILD_INSTALL and guild is not None and not guild.bot_installed:
            raise AssertionError("the bot is not installed in this server")
        return context, install

    def _base_interaction(self, kind: int, member: p.FakeMember, channel: dict[str, Any], install: int | None = None
                          ) -> tuple[FakeInteraction, dict[str, Any]]:
        channel_id = int(channel["id"])
        _, guild = self._channel(channel_id)
        context, install = self._where(channel, install)
        # authorizing_integration_owners (Discord: Interaction Object): a guild install's owner is the
        # server ("0" in the bot's DM), a user install's the user who installed it.
        owner = member.user["id"] if install == p.USER_INSTALL else (str(guild.id) if guild else "0")
        interaction = FakeInteraction(p.snowflake(), secrets.token_urlsafe(24), kind, channel_id,
                                      guild.id if guild else None, member.id, time.monotonic())
        self.interactions[interaction.token] = interaction
        payload: dict[str, Any] = {
            "id": str(interaction.id), "application_id": str(self.application_id), "type": kind,
            "token": interaction.token, "version": 1, "channel_id": str(channel_id), "channel": channel,
            "locale": member.locale, "app_permissions": str(p.MEMBER_PERMISSIONS), "entitlements": [],
            "attachment_size_limit": self.upload_bytes,
        }
        payload.update(context=context, authorizing_integration_owners={str(install): owner})
        if guild is not None:
            payload.update(guild_id=str(guild.id), guild_locale=guild.locale,
                           guild={"id": str(guild.id), "locale": guild.locale, "features": []}, member=member.payload())
        else:
            payload.update(user=member.user)
        interaction.context, interaction.install = context, install
        return interaction, payload

    @staticmethod
    def offered(command: dict[str, Any], context: int, install: int) -> bool:
        """Whether Discord's client offers the command here: its integration_types (default: guild
        install only) and contexts (default: all) must hold the interaction's (Discord: Application
        Command Object, integration_types and contexts)."""
        installs = command.get("integration_types") or [p.GUILD_INSTALL]
        contexts = command.get("contexts")
        return install in installs and (contexts is None or context in contexts)

    def synced_command(self, name: str, guild_id: int | None) -> dict[str, Any]:
        scopes = ([str(guild_id)] if guild_id is not None else []) + ["global"]
        for scope in scopes:
            for command in self.commands.get(scope, []):
                if command["name"] == name:
                    return command
        raise AssertionError(f"/{name} was never synced, so Discord would not offer it")

    async def slash(self, name: str, member: p.FakeMember, channel: dict[str, Any], /, *, install: int | None = None,
                    stale_client: bool = False, **options: Any) -> FakeInteraction:
        """A member uses /name in channel. Options take plain values, FakeMembers (user options)
        or channel dicts (channel options); their types come from the synced command. install: how
        the app is installed for it (default: the server's install where the bot is, else the user's).
        A command Discord would not offer there is refused, unless stale_client (a client whose
        cached command list is out of date sends it anyway)."""
        interaction, payload = self._base_interaction(APPLICATION_COMMAND, member, channel, install)
        command = self.synced_command(name, interaction.guild_id)
        if not stale_client and not self.offered(command, interaction.context, interaction.install):
            raise AssertionError(f"Discord does not offer /{name} in context {interaction.context} "
                                 f"to install type {interaction.install}")
        schema = {option["name"]: option for option in command.get("options", [])}
        data: dict[str, Any] = {"id": command["id"], "name": name, "type": 1, "options": []}
        if "guild_id" in command:
            data["guild_id"] = command["guild_id"]
        resolved: dict[str, dict[str, Any]] = {}
        for key, value in options.items():
            if key not in schema:
                raise AssertionError(f"/{name} has no option {key!r}")
            kind = schema[key]["type"]
            if isinstance(value, p.FakeMember):
                resolved.setdefault("users", {})[str(value.id)] = value.user
                if interaction.guild_id is not None:
                    resolved.setdefault("members", {})[str(value.id)] = value.payload(with_user=False)
                value = str(value.id)
            elif isinstance(value, dict) and "filename" in value:  # an attachment (from add_attachment)
                resolved.setdefault("attachments", {})[value["id"]] = value
                value = value["id"]
            elif isinstance(value, dict) and "type" in value:  # a channel
                resolved.setdefault("channels", {})[value["id"]] = {
                    "id": value["id"], "name": value.get("name", ""), "type": value["type"],
                    "permissions": str(p.ALL_PERMISSIONS), "guild_id": value.get("guild_id")}
                value = value["id"]
            data["options"].append({"name": key, "type": kind, "value": value})
        if resolved:
            data["resolved"] = resolved
        payload["data"] = data
        await self.gateway.dispatch("INTERACTION_CREATE", payload)
        return interaction

    async def message_command(self, name: str, member: p.FakeMember, message: dict[str, Any]) -> FakeInteraction:
        """A member runs the message context-menu command `name` (Apps > name) on a message."""
        channel, _ = self._channel(int(message["channel_id"]))
        assert channel is not None
        interaction, payload = self._base_interaction(APPLICATION_COMMAND, member, channel)
        command = self.synced_command(name, interaction.guild_id)
        if command.get("type") != 3:
            raise AssertionError(f"{name!r} is not a message command")
        payload["data"] = {"id": command["id"], "name": name, "type": 3, "target_id": message["id"],
                           "resolved": {"messages": {message["id"]: json.loads(json.dumps(message))}}}
        await self.gateway.dispatch("INTERACTION_CREATE", payload)
        return interaction

    def user_message(self, channel: dict[str, Any], member: p.FakeMember, attachments: list[dict[str, Any]]
                     ) -> dict[str, Any]:
        """A message a member posted with attachments (from add_attachment)."""
        _, guild = self._channel(int(channel["id"]))
        message = p.message(p.snowflake(), int(channel["id"]), guild.id if guild else None, member.user)
        message["attachments"] = attachments
        self.messages[int(message["id"])] = message
        return message

    async def click(self, message: dict[str, Any] | int, custom_id: str, member: p.FakeMember) -> FakeInteraction:
        """A member clicks the button with custom_id on a message (as the message is now)."""
        message = self.messages[int(message)] if isinstance(message, int) else self.messages[int(message["id"])]
        buttons = [c for row in message["components"] for c in row.get("components", [])]
        if not any(button.get("custom_id") == custom_id for button in buttons):
            raise AssertionError(f"message {message['id']} has no button {custom_id!r}")
        channel, _ = self._channel(int(message["channel_id"]))
        assert channel is not None
        interaction, payload = self._base_interaction(MESSAGE_COMPONENT, member, channel)
        interaction.message_id = int(message["id"])
        payload["message"] = json.loads(json.dumps(message))
        payload["data"] = {"custom_id": custom_id, "component_type": 2}
        await self.gateway.dispatch("INTERACTION_CREATE", payload)
        return interaction

    # -- reading what happened --
    def callbacks(self, interaction: FakeInteraction) -> list[Recorded]:
        """Accepted initial responses to the interaction (Discord accepts one)."""
        path = f"/interactions/{interaction.id}/{interaction.token}/callback"
        return [r for r in self.requests if r.path == path and r.ok]

    async def reply(self, interaction: FakeInteraction, timeout: float = 10.0) -> dict[str, Any]:
        """The interaction's response message once complete (not "thinking" any more)."""
        def done() -> dict[str, Any] | None:
            if interaction.original_id is None:
                return None
            message = self.messages[interaction.original_id]
            return None if int(message["flags"]) & LOADING else message
        return await self.wait_for(done, timeout, f"a reply to interaction {interaction.id}")

    def channel_messages(self, channel: dict[str, Any]) -> list[dict[str, Any]]:
        """Messages the bot posted in the channel itself (not interaction responses), in order."""
        return [m for m in self.messages.values() if m["channel_id"] == channel["id"] and "webhook_id" not in m]

    def message_requests(self) -> list[Recorded]:
        """Accepted requests that created or edited a message."""
        message_paths = r"/channels/\d+/messages.*|/webhooks/.*|/interactions/.*/callback"
        return [r for r in self.requests if r.ok and r.method in ("POST", "PATCH")
                and re.fullmatch(message_paths, r.path)]

    def add_attachment(self, data: bytes, filename: str, content_type: str = "image/png",
                       size: int | None = None) -> dict[str, Any]:
        """A file a user attaches to a slash command; `size` may claim more than is stored."""
        attachment_id = p.snowflake()
        self.files[attachment_id] = data
        return p.attachment(attachment_id, filename, len(data) if size is None else size, content_type, self.base)

    async def _attachment(self, request: web.Request) -> web.Response:
        data = self.files.get(int(request.match_info["attachment_id"]))
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data, content_type="application/octet-stream")

    def file_bytes(self, attachment: dict[str, Any]) -> bytes:
        return self.files[int(attachment["id"])]


async def _read_body(request: web.Request) -> tuple[Any, list[Upload]]:
    if request.content_type.startswith("multipart/"):
        form = await request.post()
        body, uploads = None, []
        for name, value in form.items():
            if isinstance(value, FileField):
                uploads.append(Upload(name, value.filename, value.content_type, value.file.read()))
            elif name == "payload_json":
                body = json.loads(value)
        return body, uploads
    raw = await request.read()
    return (json.loads(raw) if raw else None), []


def _check(record: Recorded, upload_bytes: int = limits.UPLOAD_BYTES) -> None:
    limits.check_message(record.body, [len(u.data) for u in record.uploads], upload_bytes)


def _json(status: int, data: Any, headers: dict[str, str] | None = None) -> web.Response:
    # exactly "application/json": aiohttp's json_response would add "; charset=utf-8"
    return web.Response(status=status, body=json.dumps(data).encode(),
                        headers={"Content-Type": "application/json", **(headers or {})})


def _rate_limited(verdict: limits.Verdict) -> web.Response:
    body = {"message": "You are being rate limited.", "retry_after": round(verdict.retry_after, 3),
            "global": verdict.scope == "global"}
    # "Via" tells discord.py this is Discord's own 429, not a Cloudflare ban
    headers = {**verdict.headers, "Retry-After": str(max(1, round(verdict.retry_after))),
               "X-RateLimit-Scope": verdict.scope, "Via": "1.1 google"}
    if verdict.scope == "global":
        headers["X-RateLimit-Global"] = "true"
    return _json(429, body, headers)


def _fault_response(fault: Fault) -> web.Response:
    if fault.status == 429:
        body = {"message": "You are being rate limited.", "retry_after": fault.retry_after, "global": False}
        headers = {"Content-Type": "application/json", "Via": "1.1 google", "Retry-After": str(fault.retry_after),
                   "X-RateLimit-Scope": "user"}
        return web.Response(status=429, body=json.dumps(body).encode(), headers=headers)
    body = {"message": f"{fault.status}: injected by the fake", "code": 0}
    return web.Response(status=fault.status or 500, body=json.dumps(body).encode(),
                        headers={"Content-Type": "application/json"})
