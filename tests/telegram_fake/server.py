"""The fake Bot API server: an aiohttp app that speaks enough of the Telegram Bot API for the bot.

It behaves like the real service where the bot could notice a difference: every method is a POST
to /bot<token>/<method> (form-encoded, or multipart when a file is uploaded), replies are complete
objects wrapped in {"ok": ..., "result": ...}, getUpdates long-polls and honours `offset` (an
offset confirms every update below it, which is then never sent again), a callback query can be
answered once, and an edit that changes nothing is refused as "message is not modified".

Webhook mode as Telegram has it: once setWebhook gives a URL, updates are POSTed there with the
secret header and sent again until answered 200 (tests/telegram_fake/webhook.py).
`base_url_via(name)` is `base_url` under a path prefix recorded with each call (`Call.via`), so a
test with several bot processes can tell which one made which call.

Tests drive it from the user's side (`command`, `click`), read what the bot sent (`calls`,
`wait_calls`), and inject faults (`fault`): 429 with retry_after, 500, a slow reply, a dropped
connection (before or after the request took effect), and re-delivery of confirmed updates.

It is as strict as Telegram (tests/telegram_fake/limits.py cites each limit): texts and captions on
send and edit, callback data, keyboards, photo sizes, toasts, callback queries that expire, and
flood control (per chat, per group, overall) answered with 429 and retry_after. Every refusal for
a limit is counted in `breaches`, so a test can assert the bot kept within all of them.
"""
from __future__ import annotations

import asyncio
import re
import itertools
import json
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any, Callable

from aiohttp import web

from tests.telegram_fake import limits
from tests.telegram_fake.inline import InlineMode, updates_allowed
from tests.telegram_fake.limits import FloodControl
from tests.telegram_fake.webhook import WebhookSender

TOKEN = "123456789:TEST-fake-token"
BOT_USER = {
    "id": 123456789, "is_bot": True, "first_name": "Figment", "username": "figment_test_bot",
    "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False,
}


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    data: bytes


@dataclass
class Call:
    """One request the bot made. outcome: ok, slow, error (the method refused it), or the fault applied."""

    seq: int
    method: str
    params: dict[str, Any]
    files: dict[str, Upload]
    outcome: str = "ok"
    result: Any = None
    at: float = 0.0  # wall-clock time the request arrived (time.time())
    via: str = ""  # the path prefix it came through (base_url_via), "" for base_url

    @property
    def succeeded(self) -> bool:
        """It took effect (for drop_after, the bot just never heard so)."""
        return self.outcome in ("ok", "slow", "drop_after", "late_reply")


@dataclass
class Fault:
    """Applied to the next `times` requests of `method`.

    kind: "429" (retry_after seconds), "500", "slow" (reply after `delay` seconds), "drop" (close
    the connection before doing anything), "drop_after" (do it, then close the connection: the
    reply is lost), "late_reply" (do it, then hold the reply `delay` seconds: a client with a
    shorter timeout gives up on a request that went through), "redeliver" (getUpdates only: send the last `redeliver` confirmed updates again).
    """

    method: str
    kind: str
    times: int = 1
    retry_after: int = 1
    delay: float = 1.0
    redeliver: int = 1


class ApiError(Exception):
    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None,
                 breach: str | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.parameters = code, description, parameters
        self.breach = breach  # which documented limit the request broke, if that is why it failed


def _decode(value: str) -> Any:
    """PTB sends objects and lists as JSON strings; everything else stays a string."""
    if value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class FakeBotApi(InlineMode):
    def __init__(self, token: str = TOKEN, *, flood: FloodControl | None = None,
                 query_ttl: float = limits.QUERY_TTL, webhook_timeout: float = 5.0,
                 webhook_retry: float = 0.25) -> None:
        self.token = token
        self.flood = flood or FloodControl()
        self.query_ttl = query_ttl
        self.breaches: Counter[str] = Counter()  # limit -> refusals; a bot within every limit has none
        self.query_times: dict[str, float] = {}
        self.bot_user = dict(BOT_USER)
        self.calls: list[Call] = []
        self.faults: list[Fault] = []
        self.confirmed = 0  # updates with an id below this were confirmed by an offset
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.chats: dict[int, dict[str, Any]] = {}
        self.member_counts: dict[int, int] = {}
        self.admins: dict[int, set[int]] = defaultdict(set)
        self.owners: dict[int, int] = {}
        self.commands: list[dict[str, Any]] = []  # the menu for every language without its own
        self.commands_by_language: dict[str, list[dict[str, Any]]] = {}  # setMyCommands(language_code=...)
        self.webhook: dict[str, Any] = {}
        self.updates: list[dict[str, Any]] = []
        self.sender = WebhookSender(self.updates, timeout=webhook_timeout, retry_after=webhook_retry)
        self.answered_queries: set[str] = set()
        self.files: dict[str, bytes] = {}  # file_id -> bytes, for getFile and downloads
        self.queries: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        self._init_inline()
        self.allowed_updates: Any = None  # as the bot last asked (getUpdates), None: all
        self._seq = itertools.count(1)
        self._message_ids: dict[int, itertools.count] = defaultdict(lambda: itertools.count(1))
        self._update_event = asyncio.Event()
        self._call_event = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # --- running ------------------------------------------------------------------------------

    async def start(self) -> "FakeBotApi":
        app = web.Application(client_max_size=limits.ANIMATION_BYTES + 1024 * 1024)  # room to refuse a file over the limit
        for prefix in ("", "/via/{via}"):
            app.router.add_post(prefix + "/bot{token}/{method}", self._handle)
            app.router.add_get(prefix + "/bot{token}/{method}", self._handle)
            app.router.add_get(prefix + "/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def close(self) -> None:
        await self.sender.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> "FakeBotApi":
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    def base_url_via(self, via: str) -> str:
        return f"http://127.0.0.1:{self.port}/via/{via}/bot"

    # --- the world: users, chats, and what they do ------------------------------------------------

    @staticmethod
    def user(user_id: int, first_name: str, last_name: str | None = None,
             username: str | None = None, language_code: str | None = "en") -> dict[str, Any]:
        """A user as Telegram sends one; language_code is their app's language (IETF tag, may be absent)."""
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if language_code:
            user["language_code"] = language_code
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        return user

    def group(self, chat_id: int, title: str, *, members: int, owner: int | None = None,
              admins: tuple[int, ...] = ()) -> dict[str, Any]:
        chat = {"id": chat_id, "type": "supergroup", "title": title}
        self.chats[chat_id] = chat
        self.member_counts[chat_id] = members
        if owner is not None:
            self.owners[chat_id] = owner
        self.admins[chat_id].update(admins)
        return chat

    def private(self, user: dict[str, Any]) -> dict[str, Any]:
        chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        if "last_name" in user:
            chat["last_name"] = user["last_name"]
        self.chats[user["id"]] = chat
        self.member_counts[user["id"]] = 2
        return chat

    def push_update(self, payload: dict[str, Any]) -> int:
        update_id = 10_000 + len(self.updates) + 1
        self.updates.append({"update_id": update_id, **payload})
        self.sender.wake()
        self._update_event.set()
        self._update_event = asyncio.Event()
        return update_id

    def command(self, chat: dict[str, Any], user: dict[str, Any], text: str) -> int:
        """A user types `text` in chat; a leading /command gets its bot_command entity. Returns the update id."""
        message = self._new_message(chat["id"], sender=user, text=text)
        if text.startswith("/"):
            word = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(word)}]
        return self.push_update({"message": message})

    def click(self, user: dict[str, Any], chat_id: int, message_id: int, data: str) -> str:
        """A user presses an inline button on a bot message. Returns the callback query id."""
        query_id = f"cq{next(self._ids)}"
        message = self.messages[(chat_id, message_id)]
        query = {"id": query_id, "from": user, "chat_instance": f"instance{chat_id}",
                 "message": json.loads(json.dumps(message)), "data": data}
        self.queries[query_id] = query
        self.query_times[query_id] = time.monotonic()
        self.push_update({"callback_query": query})
        return query_id

    def fault(self, method: str, kind: str, **options: Any) -> Fault:
        fault = Fault(method, kind, **options)
        self.faults.append(fault)
        return fault

    # --- reading what the bot did ---------------------------------------------------------------

    def calls_to(self, method: str, *, succeeded: bool = True) -> list[Call]:
        return [c for c in self.calls if c.method == method and (c.succeeded or not succeeded)]

    async def wait_calls(self, method: str, count: int = 1, where: Callable[[Call], bool] | None = None,
                         timeout: float = 15.0, since: int = 0) -> list[Call]:
        """Wait until at least `count` successful calls of `method` (after seq `since`) match `where`."""
        def matching() -> list[Call]:
            return [c for c in self.calls if c.method == method and c.succeeded and c.seq > since
                    and (where is None or where(c))]

        async def wait() -> list[Call]:
            while len(found := matching()) < count:
                event = self._call_event
                await event.wait()
            return found

        try:
            return await asyncio.wait_for(wait(), timeout)
        except asyncio.TimeoutError:
            seen = [(c.method, c.outcome, c.params) for c in self.calls[-15:]]
            raise AssertionError(f"waited {timeout}s for {count} x {method}; last calls: {seen}") from None

    @property
    def last_seq(self) -> int:
        return self.calls[-1].seq if self.calls else 0

    # --- the HTTP side -----------------------------------------------------------------------------

    async def _read(self, request: web.Request) -> tuple[dict[str, Any], dict[str, Upload]]:
        params: dict[str, Any] = {}
        files: dict[str, Upload] = {}
        if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, str):
                    params[key] = _decode(value)
                else:  # an uploaded file
                    files[key] = Upload(value.filename, value.content_type, value.file.read())
        elif request.content_type == "application/json" and request.can_read_body:
            params = await request.json()
        params.update({k: _decode(v) for k, v in request.query.items()})
        return params, files

    def _take_fault(self, method: str) -> Fault | None:
        for fault in self.faults:
            if fault.method == method and fault.times > 0:
                fault.times -= 1
                return fault
        return None

    def _record(self, call: Call) -> None:
        call.seq = next(self._seq)
        self.calls.append(call)
        self._call_event.set()
        self._call_event = asyncio.Event()

    @staticmethod
    def _reply(code: int, body: dict[str, Any]) -> web.Response:
        return web.Response(status=code, text=json.dumps(body), content_type="application/json")

    def _error(self, call: Call, error: ApiError, outcome: str = "error") -> web.Response:
        call.outcome = outcome
        if error.breach:
            self.breaches[error.breach] += 1
        self._record(call)
        body: dict[str, Any] = {"ok": False, "error_code": error.code, "description": error.description}
        if error.parameters:
            body["parameters"] = error.parameters
        return self._reply(error.code, body)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        params, files = await self._read(request)
        call = Call(0, method, params, files, at=time.time(), via=request.match_info.get("via", ""))
        if request.match_info["token"] != self.token:
            return self._error(call, ApiError(401, "Unauthorized"))
        fault = self._take_fault(method)
        kind = fault.kind if fault else None
        if kind == "429":
            return self._error(call, ApiError(429, f"Too Many Requests: retry after {fault.retry_after}",
                                              {"retry_after": fault.retry_after}), outcome="429")
        if kind == "500":
            return self._error(call, ApiError(500, "Internal Server Error"), outcome="500")
        if kind == "drop":
            call.outcome = "drop"
            self._record(call)
            return self._drop(request)
        if kind == "slow":
            call.outcome = "slow"
            await asyncio.sleep(fault.delay)  # type: ignore[union-attr]
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return self._error(call, ApiError(404, "Not Found"))
        if method in limits.MESSAGE_METHODS and params.get("chat_id") is not None:
            try:
                wait = self.flood.admit(int(params["chat_id"]), time.monotonic())
            except (TypeError, ValueError):
                wait = 0
            if wait:
                return self._error(call, ApiError(429, f"Too Many Requests: retry after {wait}",
                                                  {"retry_after": wait}, breach="flood"), outcome="429")
        try:
            if method == "getUpdates":
                call.result = await self._m_getUpdates(params, fault.redeliver if kind == "redeliver" else 0)
            else:
                call.result = handler(params, files)
        except ApiError as error:
            return self._error(call, error)
        if kind == "late_reply":  # it took effect; the reply comes after the client stopped waiting
            call.outcome = "late_reply"
            self._record(call)
            await asyncio.sleep(fault.delay)  # type: ignore[union-attr]
            return self._reply(200, {"ok": True, "result": call.result})
        if kind == "drop_after":  # it took effect, but the reply never arrives
            call.outcome = "drop_after"
            self._record(call)
            return self._drop(request)
        self._record(call)
        return self._reply(200, {"ok": True, "result": call.result})

    @staticmethod
    def _drop(request: web.Request) -> web.Response:
        assert request.transport is not None
        request.transport.close()
        return web.Response()

    # --- objects ---------------------------------------------------------------------------------

    def _chat(self, chat_id: Any) -> dict[str, Any]:
        try:
            return self.chats[int(chat_id)]
        except (KeyError, ValueError, TypeError):
            raise ApiError(400, "Bad Request: chat not found") from None

    def _new_message(self, chat_id: int, *, sender: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
        chat = self._chat(chat_id)
        message = {"message_id": next(self._message_ids[chat["id"]]), "date": int(time.time()),
                   "chat": chat, "from": sender or self.bot_user, **fields}
        self.messages[(chat["id"], message["message_id"])] = message
        return message

    def _stored(self, params: dict[str, Any]) -> dict[str, Any]:
        inline = self._inline_target(params)
        if inline is not None:
            return inline
        chat = self._chat(params.get("chat_id"))
        try:
            return self.messages[(chat["id"], int(params.get("message_id", 0)))]
        except (KeyError, ValueError):
            raise ApiError(400, "Bad Request: message to edit not found") from None

    @staticmethod
    def _markup(params: dict[str, Any]) -> dict[str, Any] | None:
        markup = params.get("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict) or not isinstance(markup.get("inline_keyboard"), list):
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        buttons = [button for row in markup["inline_keyboard"] for button in row]
        if len(buttons) > limits.KEYBOARD_BUTTONS:
            raise ApiError(400, "Bad Request: reply markup is too long", breach="keyboard buttons")
        for button in buttons:
            if not str(button.get("text", "")):
                raise ApiError(400, "Bad Request: text buttons are unallowed in the inline keyboard",
                               breach="button text")
            if "callback_data" in button and not 1 <= len(str(button["callback_data"]).encode()) <= \
                    limits.CALLBACK_DATA_BYTES:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID", breach="callback data")
        return markup

    @staticmethod
    def _caption(params: dict[str, Any]) -> str:
        caption = str(params.get("caption", ""))
        if len(caption) > limits.CAPTION_LENGTH:
            raise ApiError(400, "Bad Request: message caption is too long", breach="caption length")
        return caption

    @staticmethod
    def _text(params: dict[str, Any]) -> str:
        text = params.get("text")
        if not text:
            raise ApiError(400, "Bad Request: message text is empty")
        if len(str(text)) > limits.TEXT_LENGTH:
            raise ApiError(400, "Bad Request: message is too long", breach="text length")
        return str(text)

    # --- methods -----------------------------------------------------------------------------------

    def _m_getMe(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        return self.bot_user

    def _m_deleteWebhook(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        self.webhook = {}
        self.sender.stop()
        return True

    def _m_setWebhook(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        if not str(params.get("url", "")).startswith(("http://", "https://")):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook = dict(params)
        if params.get("drop_pending_updates") in (True, "true", "True"):
            self.sender.confirmed.update(u["update_id"] for u in self.updates)
        self.sender.configure(str(params["url"]), params.get("secret_token"), int(params.get("max_connections") or 40))
        return True

    def _m_getWebhookInfo(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        return {"url": self.webhook.get("url", ""), "has_custom_certificate": False,
                "pending_update_count": self.sender.pending() if self.webhook.get("url") else 0}

    async def _m_getUpdates(self, params: dict[str, Any], redeliver: int = 0) -> Any:
        if self.webhook.get("url"):
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active")
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        if offset > 0:
            self.confirmed = max(self.confirmed, offset)
        floor = self.confirmed
        if redeliver:
            confirmed_ids = [u["update_id"] for u in self.updates if u["update_id"] < self.confirmed]
            if confirmed_ids:
                floor = confirmed_ids[-min(redeliver, len(confirmed_ids))]
        if "allowed_updates" in params:
            self.allowed_updates = params["allowed_updates"]
        deadline = time.monotonic() + timeout
        while True:
            pending = updates_allowed([u for u in self.updates if u["update_id"] >= floor], self.allowed_updates)
            remaining = deadline - time.monotonic()
            if pending or remaining <= 0:
                return pending[:limit]
            event = self._update_event
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except asyncio.TimeoutError:
                pass

    def _m_setMyCommands(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        commands = params.get("commands")
        if not isinstance(commands, list) or not all({"command", "description"} <= set(c) for c in commands):
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        if len(commands) > 100:
            raise ApiError(400, "Bad Request: too many commands specified")
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command["command"])):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command["description"])) <= 256:
                raise ApiError(400, "Bad Request: command description is too long" if command["description"]
                               else "Bad Request: command description is empty")
        # A two-letter ISO 639-1 code, or none (the menu for every language without its own).
        code = params.get("language_code")
        if code is not None and not re.fullmatch(r"[a-z]{2}", str(code)):
            raise ApiError(400, "Bad Request: invalid language code specified")
        if code:
            self.commands_by_language[code] = commands
        else:
            self.commands = commands
        return True

    def _m_getMyCommands(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        code = params.get("language_code")
        return self.commands_by_language.get(code, self.commands) if code else self.commands

    def _m_sendMessage(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        fields: dict[str, Any] = {"text": self._text(params)}
        if (markup := self._markup(params)) is not None:
            fields["reply_markup"] = markup
        return self._new_message(params.get("chat_id"), **fields)

    def _m_sendPhoto(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        upload = files.get("photo")
        if upload is None and not isinstance(params.get("photo"), str):
            raise ApiError(400, "Bad Request: there is no photo in the request")
        if upload is not None and len(upload.data) > limits.PHOTO_BYTES:
            raise ApiError(400, "Bad Request: PHOTO_INVALID_DIMENSIONS", breach="photo size")
        caption = self._caption(params)
        unique = f"p{next(self._ids)}"
        photo = [{"file_id": f"{unique}-{side}", "file_unique_id": f"{unique}{side}", "width": side,
                  "height": side, "file_size": len(upload.data) if upload else 1000} for side in (90, 320, 512)]
        if upload is not None:  # what a user would download: Telegram's re-encoded copy
            self.files[photo[-1]["file_id"]] = limits.telegram_photo(upload.data)
        self.photo_ids.update(size["file_id"] for size in photo)
        fields: dict[str, Any] = {"photo": photo}
        if caption:
            fields["caption"] = caption
        if (markup := self._markup(params)) is not None:
            fields["reply_markup"] = markup
        return self._new_message(params.get("chat_id"), **fields)

    def _m_sendAnimation(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        upload = files.get("animation")
        if upload is None and not isinstance(params.get("animation"), str):
            raise ApiError(400, "Bad Request: there is no animation in the request")
        if upload is not None:
            if len(upload.data) > limits.ANIMATION_BYTES:
                raise ApiError(400, "Bad Request: file is too big", breach="animation size")
            if (problem := limits.animation_problem(upload.data)) is not None:
                raise ApiError(400, f"Bad Request: wrong file type for an animation: {problem}",
                               breach="animation format")
        caption = self._caption(params)
        unique = f"a{next(self._ids)}"
        animation = {"file_id": unique, "file_unique_id": f"u{unique}", "width": int(params.get("width") or 0),
                     "height": int(params.get("height") or 0), "duration": int(params.get("duration") or 0),
                     "file_size": len(upload.data) if upload else 1000}
        if upload is not None:
            self.files[unique] = upload.data
        fields: dict[str, Any] = {"animation": animation, "document": {k: animation[k] for k in (
            "file_id", "file_unique_id", "file_size")}}
        if caption:
            fields["caption"] = caption
        if (markup := self._markup(params)) is not None:
            fields["reply_markup"] = markup
        return self._new_message(params.get("chat_id"), **fields)

    def add_file(self, data: bytes) -> str:
        """Store a file as if a user had uploaded it; returns its file_id."""
        file_id = f"f{next(self._ids)}"
        self.files[file_id] = data
        return file_id

    def _m_getFile(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        file_id = str(params.get("file_id", ""))
        if file_id not in self.files:
            raise ApiError(400, "Bad Request: invalid file_id")
        size = len(self.files[file_id])
        if size > limits.GET_FILE_BYTES:
            raise ApiError(400, "Bad Request: file is too big", breach="file size")
        return {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": size,
                "file_path": f"uploads/{file_id}"}

    async def _download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        data = self.files.get(request.match_info["path"].removeprefix("uploads/"))
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data, content_type="application/octet-stream")

    def _m_editMessageCaption(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        message = self._stored(params)
        caption = self._caption(params)
        markup = self._markup(params)
        if caption == message.get("caption", "") and markup == message.get("reply_markup"):
            raise ApiError(400, "Bad Request: message is not modified: specified new message content and "
                                "reply markup are exactly the same as a current content and reply markup of the message")
        message["caption"] = caption
        if markup and markup["inline_keyboard"]:
            message["reply_markup"] = markup
        else:  # an edit without a keyboard removes it
            message.pop("reply_markup", None)
        message["edit_date"] = int(time.time())
        return True if params.get("inline_message_id") is not None else message

    def _m_editMessageText(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        message = self._stored(params)
        text = self._text(params)
        markup = self._markup(params)
        if text == message.get("text") and markup == message.get("reply_markup"):
            raise ApiError(400, "Bad Request: message is not modified")
        message["text"] = text
        if markup and markup["inline_keyboard"]:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        message["edit_date"] = int(time.time())
        return True if params.get("inline_message_id") is not None else message

    def _m_editMessageReplyMarkup(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        message = self._stored(params)
        markup = self._markup(params)
        if markup == message.get("reply_markup") or (not message.get("reply_markup") and not
                                                      (markup and markup["inline_keyboard"])):
            raise ApiError(400, "Bad Request: message is not modified")
        if markup and markup["inline_keyboard"]:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        message["edit_date"] = int(time.time())
        return True if params.get("inline_message_id") is not None else message

    def _m_answerCallbackQuery(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        query_id = str(params.get("callback_query_id"))
        stale = "Bad Request: query is too old and response timeout expired or query ID is invalid"
        if query_id not in self.queries or query_id in self.answered_queries:
            raise ApiError(400, stale)
        if time.monotonic() - self.query_times[query_id] > self.query_ttl:
            raise ApiError(400, stale, breach="callback query expired")
        if len(str(params.get("text", ""))) > limits.TOAST_LENGTH:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG", breach="toast length")
        self.answered_queries.add(query_id)
        return True

    def _m_getChatMemberCount(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        return self.member_counts[self._chat(params.get("chat_id"))["id"]]

    def _m_getChatMember(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        chat = self._chat(params.get("chat_id"))
        user_id = int(params.get("user_id", 0))
        user = {"id": user_id, "is_bot": False, "first_name": f"user {user_id}"}
        if chat["type"] == "private" or self.owners.get(chat["id"]) == user_id:
            return {"status": "creator", "user": user, "is_anonymous": False}
        if user_id in self.admins[chat["id"]]:
            rights = ("can_be_edited", "is_anonymous", "can_manage_chat", "can_delete_messages",
                      "can_manage_video_chats", "can_restrict_members", "can_promote_members", "can_change_info",
                      "can_invite_users", "can_post_stories", "can_edit_stories", "can_delete_stories")
            return {"status": "administrator", "user": user, **{right: False for right in rights},
                    "can_manage_chat": True}
        return {"status": "member", "user": user}

    def _m_getChat(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        chat = self._chat(params.get("chat_id"))
        return {**chat, "accent_color_id": 0, "max_reaction_count": 11, "accepted_gift_types": {
            "unlimited_gifts": False, "limited_gifts": False, "unique_gifts": False, "premium_subscription": False}}

    def _m_sendChatAction(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        self._chat(params.get("chat_id"))
        return True

    def _m_deleteMessage(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        self.messages.pop((self._chat(params.get("chat_id"))["id"], int(params.get("message_id", 0))), None)
        return True
