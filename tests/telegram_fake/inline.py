"""Inline mode on the fake Bot API: inline queries, their answers, chosen results, inline messages.

As Telegram has it (https://core.telegram.org/bots/api#inline-mode and #answerinlinequery):
- a user can send inline queries only to a bot whose inline mode is on (BotFather /setinline:
  getMe's supports_inline_queries), and the bot hears of a sent result only with inline feedback
  on (BotFather /setinlinefeedback): a chosen_inline_result update;
- answerInlineQuery: "No more than 50 results per query are allowed"; a result's id is a "Unique
  identifier for this result, 1-64 bytes"; cache_time is an Integer ("The maximum amount of time in
  seconds that the result of the inline query may be cached on the server"); is_personal a Boolean;
  next_offset "can't exceed 64 bytes"; a query is answered once;
- InlineQueryResultCachedPhoto: "photo_file_id: A valid file identifier of the photo";
  InlineQueryResultPhoto: photo_url "A valid URL of the photo" (Telegram fetches it itself: the
  fake takes https only) and thumbnail_url; captions "0-1024 characters"; InlineQueryResultArticle:
  title and input_message_content (its message_text 1-4096 characters); reply_markup: an inline
  keyboard only;
- ChosenInlineResult.inline_message_id: "Available only if there is an inline keyboard attached to
  the message"; a callback from an inline message carries inline_message_id and no message;
- editMessageText/Caption/Media/ReplyMarkup: chat_id and message_id are "Required if
  inline_message_id is not specified"; "if the edited message is not an inline message, the edited
  Message is returned, otherwise True is returned"; editMessageMedia: "When an inline message is
  edited, a new file can't be uploaded; use a previously uploaded file via its file_id or specify a URL".
Not documented, observed: an inline query not answered within about 10 s expires ("query is too old").
"""
from __future__ import annotations

import itertools
import json
import time
from typing import Any

INLINE_RESULTS = 50
RESULT_ID_BYTES = 64
NEXT_OFFSET_BYTES = 64
INLINE_QUERY_TTL = 10.0
INLINE_TYPES = {"photo", "article"}  # the result types the fake knows (each checked below)


class InlineMode:
    """Mixed into FakeBotApi (tests/telegram_fake/server.py); uses its ApiError, _markup and _caption."""

    inline_feedback = False
    inline_answers: dict[str, dict[str, Any]]
    inline_messages: dict[str, dict[str, Any]]
    photo_ids: set[str]

    def _init_inline(self) -> None:
        self.inline_answers = {}  # query id -> the answerInlineQuery params
        self.inline_messages = {}  # inline_message_id -> the message as sent
        self.inline_queries: dict[str, dict[str, Any]] = {}
        self.photo_ids = set()  # file_ids of photos Telegram holds (sent by the bot)
        self._inline_ids = itertools.count(1)

    def enable_inline(self, *, feedback: bool = True) -> None:
        """BotFather /setinline (and /setinlinefeedback when feedback)."""
        self.bot_user["supports_inline_queries"] = True
        self.inline_feedback = feedback

    def inline_query(self, user: dict[str, Any], text: str, chat_type: str = "supergroup") -> str:
        """A user types `@bot text` in a chat. Returns the inline query id."""
        if not self.bot_user.get("supports_inline_queries"):
            raise AssertionError("inline mode is off for this bot (BotFather /setinline): no client sends this")
        query_id = f"iq{next(self._inline_ids)}"
        query = {"id": query_id, "from": user, "query": text, "offset": "", "chat_type": chat_type}
        self.inline_queries[query_id] = {**query, "at": time.monotonic()}
        self.push_update({"inline_query": query})  # type: ignore[attr-defined]
        return query_id

    def choose(self, user: dict[str, Any], query_id: str, result_id: str) -> str | None:
        """The user sends one of the answer's results into the chat. Returns its inline_message_id
        (None without a keyboard: Telegram gives none)."""
        answer = self.inline_answers[query_id]
        [result] = [r for r in answer["results"] if r["id"] == result_id]
        markup = result.get("reply_markup")
        inline_id = f"AgAAA{next(self._inline_ids):06d}Inline" if markup else None
        message = {"caption": result.get("caption", ""), "type": result["type"], "reply_markup": markup,
                   "from": user, "result_id": result_id}
        if result["type"] == "photo":
            message["photo"] = result.get("photo_file_id") or result.get("photo_url")
        else:
            message["text"] = result["input_message_content"]["message_text"]
        if inline_id:
            self.inline_messages[inline_id] = message
        if self.inline_feedback:
            chosen = {"result_id": result_id, "from": user, "query": self.inline_queries[query_id]["query"]}
            if inline_id:
                chosen["inline_message_id"] = inline_id
            self.push_update({"chosen_inline_result": chosen})  # type: ignore[attr-defined]
        return inline_id

    def click_inline(self, user: dict[str, Any], inline_message_id: str, data: str) -> str:
        """A user presses a button on an inline message. Returns the callback query id."""
        message = self.inline_messages[inline_message_id]
        buttons = [b for row in (message.get("reply_markup") or {}).get("inline_keyboard", []) for b in row]
        if not any(b.get("callback_data") == data for b in buttons):
            raise AssertionError(f"inline message {inline_message_id} has no button {data!r}")
        query_id = f"cq{next(self._ids)}"  # type: ignore[attr-defined]
        query = {"id": query_id, "from": user, "chat_instance": f"inline{inline_message_id}",
                 "inline_message_id": inline_message_id, "data": data}
        self.queries[query_id] = query  # type: ignore[attr-defined]
        self.query_times[query_id] = time.monotonic()  # type: ignore[attr-defined]
        self.push_update({"callback_query": query})  # type: ignore[attr-defined]
        return query_id

    # -- the method --
    def _m_answerInlineQuery(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        from tests.telegram_fake.server import ApiError

        query_id = str(params.get("inline_query_id"))
        query = self.inline_queries.get(query_id)
        stale = "Bad Request: query is too old and response timeout expired or query ID is invalid"
        if query is None or query_id in self.inline_answers:
            raise ApiError(400, stale)
        if time.monotonic() - query["at"] > INLINE_QUERY_TTL:
            raise ApiError(400, stale, breach="inline query expired")
        results = params.get("results")
        if not isinstance(results, list):
            raise ApiError(400, "Bad Request: can't parse inline query results JSON object")
        if len(results) > INLINE_RESULTS:
            raise ApiError(400, "Bad Request: RESULTS_TOO_MUCH", breach="inline results")
        seen: set[str] = set()
        for result in results:
            result_id = str(result.get("id", ""))
            if not 1 <= len(result_id.encode()) <= RESULT_ID_BYTES:
                raise ApiError(400, "Bad Request: RESULT_ID_INVALID", breach="inline result id")
            if result_id in seen:
                raise ApiError(400, "Bad Request: RESULT_ID_DUPLICATE", breach="inline result id")
            seen.add(result_id)
            self._check_result(result)
        cache = params.get("cache_time", 300)
        if not str(cache).isdigit():
            raise ApiError(400, "Bad Request: field \"cache_time\" must be of type Integer")
        if str(params.get("is_personal", "false")).lower() not in ("true", "false"):
            raise ApiError(400, "Bad Request: field \"is_personal\" must be of type Boolean")
        if len(str(params.get("next_offset", "")).encode()) > NEXT_OFFSET_BYTES:
            raise ApiError(400, "Bad Request: NEXT_OFFSET_INVALID", breach="inline next offset")
        self.inline_answers[query_id] = {**params, "results": results}
        return True

    def _check_result(self, result: dict[str, Any]) -> None:
        from tests.telegram_fake.server import ApiError

        kind = result.get("type")
        if kind not in INLINE_TYPES:
            raise ApiError(400, f"Bad Request: RESULT_TYPE_INVALID ({kind})")
        self._caption(result)  # type: ignore[attr-defined]
        if "reply_markup" in result:
            self._markup({"reply_markup": result["reply_markup"]})  # type: ignore[attr-defined]
        if kind == "photo":
            if "photo_file_id" in result:
                if result["photo_file_id"] not in self.photo_ids:
                    raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
            elif not (str(result.get("photo_url", "")).startswith("https://")
                      and str(result.get("thumbnail_url", "")).startswith("https://")):
                raise ApiError(400, "Bad Request: PHOTO_URL_INVALID", breach="inline photo url")
        else:
            content = result.get("input_message_content") or {}
            if not result.get("title") or not 1 <= len(str(content.get("message_text", ""))) <= 4096:
                raise ApiError(400, "Bad Request: MESSAGE_EMPTY", breach="inline article")

    def _inline_target(self, params: dict[str, Any]) -> dict[str, Any] | None:
        """The inline message an edit names, None for a chat message; both at once is refused."""
        from tests.telegram_fake.server import ApiError

        inline_id = params.get("inline_message_id")
        if inline_id is None:
            return None
        if params.get("chat_id") is not None or params.get("message_id") is not None:
            raise ApiError(400, "Bad Request: inline_message_id and chat_id/message_id can't be used together")
        try:
            return self.inline_messages[str(inline_id)]
        except KeyError:
            raise ApiError(400, "Bad Request: MESSAGE_ID_INVALID") from None

    def _m_editMessageMedia(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        from tests.telegram_fake.server import ApiError

        message = self._stored(params)  # type: ignore[attr-defined]
        media = params.get("media")
        if not isinstance(media, dict) or media.get("type") != "photo":
            raise ApiError(400, "Bad Request: can't parse input media JSON object")
        source = str(media.get("media", ""))
        inline = params.get("inline_message_id") is not None
        if source.startswith("attach://"):
            if inline:
                raise ApiError(400, "Bad Request: can't upload file for inline message", breach="inline upload")
            if source.removeprefix("attach://") not in files:
                raise ApiError(400, "Bad Request: there is no photo in the request")
        elif source not in self.photo_ids and not source.startswith("https://"):
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        message["photo"] = source
        message["caption"] = self._caption(media)  # type: ignore[attr-defined]
        markup = self._markup(params)  # type: ignore[attr-defined]
        if markup and markup["inline_keyboard"]:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        return True if inline else message


def updates_allowed(updates: list[dict[str, Any]], allowed: Any) -> list[dict[str, Any]]:
    """Telegram sends only the update types a bot asked for (getUpdates/setWebhook allowed_updates;
    an empty list means all but a few, which the fake reads as all)."""
    if not allowed:
        return updates
    if isinstance(allowed, str):
        allowed = json.loads(allowed)
    return [u for u in updates if any(key in allowed for key in u if key != "update_id")]
