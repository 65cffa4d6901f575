"""The playground's one shared chat room: recent messages, their images, who is here, live events.

Every tab subscribes to the room and gets a snapshot (recent messages, who is online, the board)
followed by live events. A message is sent whole each time it changes (a reveal edits the round's
message), and tabs upsert by id, so a snapshot racing a live event shows the same thing twice at
most, never a stale state.
"""
from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from typing import Any

from bot.imaging import PostedImage

log = logging.getLogger(__name__)

MAX_MESSAGES = 200  # older messages (and their images) are forgotten
MAX_PRIVATE_IMAGES = 500  # images shown to one tab only (the daily challenge); older ones are forgotten
QUEUE_SIZE = 500  # a tab this far behind is dropped; its EventSource reconnects and gets a snapshot


@dataclass
class Button:
    label: str
    guess: str  # 'real', 'fake', or 'a', 'b' (pairs): what the player answers, never the truth


@dataclass
class Message:
    id: str
    kind: str  # 'user' (someone typed it), 'bot', 'round' (a quiz round), 'summary'
    text: str
    name: str = ""  # who typed it (kind 'user')
    image: str | None = None  # URL of the image, served by the room
    round_id: int | None = None
    buttons: list[Button] = field(default_factory=list)
    answered: list[str] = field(default_factory=list)  # names of players who answered this round
    download: str | None = None  # after a fake round's reveal: URL of its face with credentials
    daily: str | None = None  # a daily round's key (bot.daily_keys): its buttons answer /api/daily
    # The bot's own words in every language (language code -> text), where nobody's reply decides
    # one: each tab shows its page's language, and `text` (English) where it has none.
    texts: dict[str, str] = field(default_factory=dict)

    def event(self) -> dict[str, Any]:
        return {"type": "message", "message": asdict(self)}


@dataclass(frozen=True)
class Presence:
    client: str
    name: str


class Room:
    def __init__(self, chat_id: str, title: str) -> None:
        self.chat_id = chat_id
        self.title = title
        self._ids = itertools.count(1)
        self._messages: OrderedDict[str, Message] = OrderedDict()
        self._images: dict[str, PostedImage] = {}
        self._image_of: dict[str, str] = {}  # message id -> image token
        self._private_images: OrderedDict[str, PostedImage] = OrderedDict()
        self._subscribers: dict[asyncio.Queue[dict[str, Any] | None], Presence | None] = {}
        self.board_text = ""
        self.closed = False
        # A new room (a server restart) numbers its messages anew: tabs that saw another epoch start over.
        self.epoch = secrets.token_hex(8)

    # -- messages --
    def post(self, kind: str, text: str, *, name: str = "", image: PostedImage | None = None,
             round_id: int | None = None, buttons: list[Button] | None = None,
             texts: dict[str, str] | None = None) -> Message:
        message_id = f"m{next(self._ids)}"
        url = None
        if image is not None:
            token = secrets.token_urlsafe(12)  # random: the URL says nothing about the image
            self._images[token] = image
            self._image_of[message_id] = token
            url = f"/api/images/{token}"
        message = Message(message_id, kind, text, name, url, round_id, list(buttons or []), texts=dict(texts or {}))
        self._messages[message_id] = message
        while len(self._messages) > MAX_MESSAGES:
            old_id, _ = self._messages.popitem(last=False)
            token = self._image_of.pop(old_id, None)
            if token is not None:
                self._images.pop(token, None)
        self._publish(message.event())
        return message

    def get(self, message_id: str) -> Message | None:
        return self._messages.get(message_id)

    def changed(self, message: Message) -> None:
        """Send a message again after editing it (reveal, someone answered)."""
        if message.id in self._messages:
            self._publish(message.event())

    def round_message(self, round_id: int) -> Message | None:
        for message in reversed(self._messages.values()):
            if message.round_id == round_id:
                return message
        return None

    def image(self, token: str) -> PostedImage | None:
        return self._images.get(token) or self._private_images.get(token)

    def keep_private(self, image: PostedImage) -> str:
        """Serve an image that goes to one tab only, in no room message: its URL (random, unguessable)."""
        token = secrets.token_urlsafe(12)
        self._private_images[token] = image
        while len(self._private_images) > MAX_PRIVATE_IMAGES:
            self._private_images.popitem(last=False)
        return f"/api/images/{token}"

    def set_board(self, text: str) -> None:
        self.board_text = text
        self._publish({"type": "board", "text": text})

    # -- who is here --
    def players_online(self) -> list[Presence]:
        return sorted({p for p in self._subscribers.values() if p is not None}, key=lambda p: p.name.casefold())

    def _presence_event(self) -> dict[str, Any]:
        return {"type": "presence", "names": [p.name for p in self.players_online()]}

    # -- subscribers --
    def subscribe(self, presence: Presence | None) -> asyncio.Queue[dict[str, Any] | None]:
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(QUEUE_SIZE)
        if self.closed:
            queue.put_nowait(None)
            return queue
        self._subscribers[queue] = presence
        if presence is not None:
            self._publish(self._presence_event())
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any] | None]) -> None:
        presence = self._subscribers.pop(queue, None)
        if presence is not None:
            self._publish(self._presence_event())

    def snapshot(self) -> list[dict[str, Any]]:
        events = [{"type": "reset", "room": self.epoch, "title": self.title}]
        events += [message.event() for message in self._messages.values()]
        events.append(self._presence_event())
        events.append({"type": "board", "text": self.board_text})
        return events

    def close(self) -> None:
        """End every live stream (server shutdown)."""
        self.closed = True
        for queue in list(self._subscribers):
            self._drop(queue)

    def _publish(self, event: dict[str, Any]) -> None:
        for queue in list(self._subscribers):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                log.warning("a playground tab fell behind; dropping its stream")
                self._drop(queue)

    def _drop(self, queue: asyncio.Queue[dict[str, Any] | None]) -> None:
        self._subscribers.pop(queue, None)
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(None)
