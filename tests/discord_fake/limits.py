"""Discord's documented limits, as the fake enforces them, and its rate-limit buckets.

Sources (https://discord.com/developers/docs):
- Create Message: "content: Message contents (up to 2000 characters)"; Edit Message the same.
- Embed limits: title 256, description 4096, up to 25 fields, field name 256 and value 1024,
  footer 2048, author name 256, all embeds together 6000 characters; up to 10 embeds.
- Message components: "up to 5 Action Rows", an action row holds "up to 5 buttons"; a
  custom_id is "max 100 characters"; a button label is "max 80 characters".
- Uploading files: "the default file upload limit is 10 MiB" (attachments of one request).
- Receiving and responding to interactions: "you must send an initial response within 3 seconds"
  and "Interaction tokens are valid for 15 minutes".
- Rate limits: per-route buckets told by X-RateLimit-Limit, -Remaining, -Reset, -Reset-After and
  -Bucket headers; a 429 carries retry_after and X-RateLimit-Scope; the global limit is 50 requests
  per second. "Interaction endpoints are not bound to the bot's Global Rate Limit" (the
  callback, and the webhook routes an interaction token opens). The per-route numbers are
  not published ("should not be hard coded"): the fake uses 5 per 5 s per channel, as Discord
  answers for creating messages.
"""
from __future__ import annotations

import hashlib
import re
from collections import deque
from dataclasses import dataclass
from typing import Any

CONTENT_LENGTH = 2000
EMBEDS = 10
EMBED_TOTAL = 6000
EMBED_FIELDS = 25
EMBED_TEXT = {"title": 256, "description": 4096}
FIELD_NAME, FIELD_VALUE = 256, 1024
ACTION_ROWS, ROW_BUTTONS = 5, 5
CUSTOM_ID, LABEL = 100, 80
UPLOAD_BYTES = 10 * 1024 * 1024
FIRST_RESPONSE = 3.0
TOKEN_LIFETIME = 15 * 60.0
GLOBAL_PER_SECOND = 50


class Breach(Exception):
    """A request over a documented limit: answered with `status` and counted under `limit`."""

    def __init__(self, limit: str, message: str, code: int = 50035, status: int = 400) -> None:
        super().__init__(message)
        self.limit, self.message, self.code, self.status = limit, message, code, status


def check_message(body: dict[str, Any] | None, upload_sizes: list[int], upload_bytes: int = UPLOAD_BYTES) -> None:
    """Raise Breach for a message body (create, edit, follow-up, interaction response) over a limit."""
    body = body or {}
    if len(body.get("content") or "") > CONTENT_LENGTH:
        raise Breach("content length", "Invalid Form Body: content: Must be 2000 or fewer in length.")
    embeds = body.get("embeds") or []
    if len(embeds) > EMBEDS:
        raise Breach("embeds", "Invalid Form Body: embeds: Must be 10 or fewer in length.")
    total = 0
    for embed in embeds:
        for key, most in EMBED_TEXT.items():
            total += len(embed.get(key) or "")
            if len(embed.get(key) or "") > most:
                raise Breach(f"embed {key}", f"Invalid Form Body: embeds.{key}: too long.")
        fields = embed.get("fields") or []
        if len(fields) > EMBED_FIELDS:
            raise Breach("embed fields", "Invalid Form Body: embeds.fields: Must be 25 or fewer in length.")
        for item in fields:
            total += len(item.get("name", "")) + len(item.get("value", ""))
            if len(item.get("name", "")) > FIELD_NAME or len(item.get("value", "")) > FIELD_VALUE:
                raise Breach("embed field", "Invalid Form Body: embeds.fields: too long.")
    if total > EMBED_TOTAL:
        raise Breach("embed total", "Invalid Form Body: embeds: Embed size exceeds maximum size of 6000")
    rows = body.get("components") or []
    if len(rows) > ACTION_ROWS:
        raise Breach("action rows", "Invalid Form Body: components: Must be 5 or fewer in length.")
    for row in rows:
        buttons = row.get("components") or []
        if len(buttons) > ROW_BUTTONS:
            raise Breach("row buttons", "Invalid Form Body: components.components: Must be 5 or fewer.")
        for button in buttons:
            if len(button.get("custom_id") or "") > CUSTOM_ID:
                raise Breach("custom id", "Invalid Form Body: custom_id: Must be 100 or fewer in length.")
            if len(button.get("label") or "") > LABEL:
                raise Breach("button label", "Invalid Form Body: label: Must be 80 or fewer in length.")
    if sum(upload_sizes) > upload_bytes:
        raise Breach("upload size", "Request entity too large", code=40005, status=413)


@dataclass(frozen=True)
class Bucket:
    limit: int
    window: float


# (method, path pattern, bucket): the routes the bot uses a lot, keyed by their top-level resource.
ROUTE_BUCKETS: list[tuple[str, re.Pattern[str], Bucket]] = [
    ("POST", re.compile(r"/channels/(\d+)/messages"), Bucket(5, 5.0)),
    ("PATCH", re.compile(r"/channels/(\d+)/messages/\d+"), Bucket(5, 5.0)),
    ("POST", re.compile(r"/webhooks/\d+/([^/]+)"), Bucket(5, 5.0)),
    ("PATCH", re.compile(r"/webhooks/\d+/([^/]+)/messages/[^/]+"), Bucket(5, 5.0)),
]


@dataclass
class Verdict:
    headers: dict[str, str]
    retry_after: float = 0.0  # > 0: over the limit
    scope: str = "user"


class RateLimits:
    """Fixed windows per bucket and top-level resource, and a global per-second window."""

    def __init__(self, routes: list[tuple[str, re.Pattern[str], Bucket]] | None = None,
                 global_per_second: int = GLOBAL_PER_SECOND) -> None:
        self.routes = ROUTE_BUCKETS if routes is None else routes
        self.global_per_second = global_per_second
        self._windows: dict[tuple[str, str, str], tuple[float, int]] = {}  # key -> (start, used)
        self._global: deque[float] = deque()

    def admit(self, method: str, path: str, now: float, wall: float) -> Verdict:
        if not path.startswith(("/interactions/", "/webhooks/")):  # interaction endpoints: no global limit
            while self._global and now - self._global[0] >= 1.0:
                self._global.popleft()
            if len(self._global) >= self.global_per_second:
                return Verdict({}, 1.0 - (now - self._global[0]), scope="global")
            self._global.append(now)
        for route_method, pattern, bucket in self.routes:
            match = pattern.fullmatch(path)
            if route_method != method or match is None:
                continue
            key = (method, pattern.pattern, match.group(1))
            start, used = self._windows.get(key, (now, 0))
            if now - start >= bucket.window:
                start, used = now, 0
            reset_after = bucket.window - (now - start)
            name = hashlib.sha1(f"{method} {pattern.pattern}".encode()).hexdigest()[:16]
            headers = {"X-RateLimit-Limit": str(bucket.limit), "X-RateLimit-Bucket": name,
                       "X-RateLimit-Reset-After": f"{reset_after:.3f}", "X-RateLimit-Reset": f"{wall + reset_after:.3f}"}
            if used >= bucket.limit:
                headers["X-RateLimit-Remaining"] = "0"
                return Verdict(headers, reset_after)
            self._windows[key] = (start, used + 1)
            headers["X-RateLimit-Remaining"] = str(bucket.limit - used - 1)
            return Verdict(headers)
        return Verdict({})


# --- application commands (PUT /applications/{id}/commands) -----------------------------------
# Discord's locales (discord.com/developers/docs/reference#locales): a localization under any
# other key is refused.
LOCALES = frozenset({
    "id", "da", "de", "en-GB", "en-US", "es-ES", "es-419", "fr", "hr", "it", "lt", "hu", "nl", "no", "pl",
    "pt-BR", "ro", "fi", "sv-SE", "vi", "tr", "cs", "el", "bg", "ru", "uk", "hi", "th", "zh-CN", "ja",
    "zh-TW", "ko"})
# Slash command and option names: 1-32 characters of letters (any script), digits, - and _;
# lowercase wherever the letter has a lowercase form.
_NAME = re.compile(r"^[-_\w]{1,32}$")
COMMAND_DESCRIPTION = 100
CHOICE_NAME = 100
MENU_NAME = 32


def _name_problem(name: Any, slash: bool) -> str | None:
    if not isinstance(name, str) or not name:
        return "a name is required"
    if not slash:  # a context-menu name: any text, 1-32 characters
        return None if len(name) <= MENU_NAME else f"{name!r} is longer than {MENU_NAME}"
    if not _NAME.match(name) or name != name.lower():
        return f"{name!r} is not a valid command name (lowercase, no spaces, 1-32 characters)"
    return None


def _localized(item: dict[str, Any], key: str) -> list[tuple[str, Any]]:
    values = item.get(f"{key}_localizations") or {}
    return [(locale, value) for locale, value in values.items()]


def command_problems(commands: Any) -> list[str]:
    """Why Discord would refuse this command set (empty: it takes it)."""
    problems: list[str] = []

    def check(item: dict[str, Any], slash: bool, where: str) -> None:
        for locale, name in [("", item.get("name")), *_localized(item, "name")]:
            if locale and locale not in LOCALES:
                problems.append(f"{where}: {locale!r} is not a Discord locale")
            problem = _name_problem(name, slash)
            if problem:
                problems.append(f"{where} {locale}: {problem}")
        if slash:
            for locale, text in [("", item.get("description")), *_localized(item, "description")]:
                if locale and locale not in LOCALES:
                    problems.append(f"{where}: {locale!r} is not a Discord locale")
                if not isinstance(text, str) or not 1 <= len(text) <= COMMAND_DESCRIPTION:
                    problems.append(f"{where} {locale}: description must be 1-{COMMAND_DESCRIPTION} characters")
        for choice in item.get("choices") or []:
            for locale, name in [("", choice.get("name")), *_localized(choice, "name")]:
                if locale and locale not in LOCALES:
                    problems.append(f"{where}: {locale!r} is not a Discord locale")
                if not isinstance(name, str) or not 1 <= len(name) <= CHOICE_NAME:
                    problems.append(f"{where} choice {locale}: name must be 1-{CHOICE_NAME} characters")
        for option in item.get("options") or []:
            check(option, True, f"{where}.{option.get('name')}")

    if not isinstance(commands, list):
        return ["the body must be a list of commands"]
    for command in commands:
        check(command, command.get("type", 1) == 1, f"/{command.get('name')}")
    return problems
