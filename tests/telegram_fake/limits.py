"""The Bot API's documented limits, as the fake enforces them, and its flood control.

Sources (https://core.telegram.org/bots/api and https://core.telegram.org/bots/faq):
- sendMessage / editMessageText: "Text of the message ..., 1-4096 characters after entities parsing".
- sendPhoto / editMessageCaption: "Photo caption ..., 0-1024 characters after entities parsing".
- sendPhoto: "The photo must be at most 10 MB in size".
- sendAnimation: "Use this method to send animation files (GIF or H.264/MPEG-4 AVC video without
  sound) ... Bots can currently send animation files of up to 50 MB in size"; its caption
  "0-1024 characters after entities parsing" (https://core.telegram.org/bots/api#sendanimation).
- InlineKeyboardButton.callback_data: "Data to be sent in a callback query ..., 1-64 bytes".
- answerCallbackQuery.text: "Text of the notification ..., 0-200 characters".
- FAQ "My bot is hitting limits": "In a particular chat, avoid sending more than one message per
  second. We may allow short bursts that go over this limit, but eventually you'll begin receiving
  429 errors." ... "the bot will not be able to send more than 20 messages per minute to the same
  group" ... "the API will not allow bulk notifications to more than ~30 users per second".
Not documented, observed: a callback query must be answered within about 15 s ("query is too old
and response timeout expired"); an inline keyboard takes at most 100 buttons; a button needs a text.
"""
from __future__ import annotations

import math
from collections import defaultdict, deque

TEXT_LENGTH = 4096
CAPTION_LENGTH = 1024
PHOTO_BYTES = 10 * 1000 * 1000
ANIMATION_BYTES = 50 * 1024 * 1024
GET_FILE_BYTES = 20 * 1024 * 1024  # bots download at most this much with getFile
CALLBACK_DATA_BYTES = 64
TOAST_LENGTH = 200
KEYBOARD_BUTTONS = 100
QUERY_TTL = 15.0

CHAT_RATE = 1.0  # messages per second in one chat, sustained
CHAT_BURST = 3  # the "short bursts" the FAQ allows
GROUP_PER_MINUTE = 20
GLOBAL_PER_SECOND = 30

# Methods that post or change a message: what flood control counts.
MESSAGE_METHODS = ("sendMessage", "sendPhoto", "sendAnimation", "sendDocument", "sendMediaGroup", "copyMessage",
                   "forwardMessage", "editMessageText", "editMessageCaption", "editMessageReplyMarkup",
                   "editMessageMedia")


class FloodControl:
    """Per chat a token bucket (about 1 message/s with short bursts), per group a 60 s window of 20
    messages, and ~30 messages/s over all chats. `admit` returns 0 (let it through) or the seconds
    to wait, which the fake sends back as a 429's retry_after, as Telegram does."""

    def __init__(self, chat_rate: float = CHAT_RATE, chat_burst: int = CHAT_BURST,
                 group_per_minute: int = GROUP_PER_MINUTE, global_per_second: int = GLOBAL_PER_SECOND) -> None:
        self.chat_rate, self.chat_burst = chat_rate, chat_burst
        self.group_per_minute, self.global_per_second = group_per_minute, global_per_second
        self._tokens: dict[int, tuple[float, float]] = {}  # chat -> (tokens, at)
        self._group: dict[int, deque[float]] = defaultdict(deque)
        self._all: deque[float] = deque()

    def admit(self, chat_id: int, now: float) -> int:
        tokens, at = self._tokens.get(chat_id, (float(self.chat_burst), now))
        tokens = min(float(self.chat_burst), tokens + (now - at) * self.chat_rate)
        waits = [0.0]
        if tokens < 1.0:
            waits.append((1.0 - tokens) / self.chat_rate)
        group = self._group[chat_id]
        while group and now - group[0] >= 60.0:
            group.popleft()
        if chat_id < 0 and len(group) >= self.group_per_minute:
            waits.append(60.0 - (now - group[0]))
        while self._all and now - self._all[0] >= 1.0:
            self._all.popleft()
        if len(self._all) >= self.global_per_second:
            waits.append(1.0 - (now - self._all[0]))
        wait = max(waits)
        if wait > 0:
            self._tokens[chat_id] = (tokens, now)
            return max(1, math.ceil(wait))  # Telegram's retry_after is whole seconds
        self._tokens[chat_id] = (tokens - 1.0, now)
        group.append(now)
        self._all.append(now)
        return 0


def telegram_photo(data: bytes) -> bytes:
    """What Telegram keeps of a sent photo: longest side at most 1280 px, JPEG at about q87."""
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(data)).convert("RGB")
    if max(image.size) > 1280:
        image.thumbnail((1280, 1280), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=87)
    return buffer.getvalue()


def animation_problem(data: bytes) -> str | None:
    """Why Telegram would not take this file as an animation (None: it would): a GIF, or an MP4
    whose one video stream is H.264 and which has no sound."""
    import io

    import av

    if data[:6] in (b"GIF87a", b"GIF89a"):
        return None
    try:
        with av.open(io.BytesIO(data)) as container:
            if "mp4" not in container.format.name:
                return f"not an MP4 ({container.format.name})"
            if container.streams.audio:
                return "the video has sound"
            video = container.streams.video
            if len(video) != 1 or video[0].codec_context.name != "h264":
                return "the video is not H.264"
            frames = sum(1 for _ in container.decode(video=0))
    except av.error.FFmpegError as error:
        return f"not a video ({error})"
    return None if frames else "the video has no frames"
