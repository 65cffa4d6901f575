"""Check what a playground tab sends: its player id, the typed name, the message. UserError if bad."""
from __future__ import annotations

import hashlib
import re
import unicodedata

from bot import texts
from bot.errors import UserError
from bot.refs import PlayerRef

MAX_NAME_CHARS = 32
MAX_MESSAGE_CHARS = 500
_CLIENT = re.compile(r"[A-Za-z0-9_-]{8,40}")
_BIDI = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))  # no text flipping


def check_client(value: object) -> str:
    if not isinstance(value, str) or not _CLIENT.fullmatch(value):
        raise UserError(texts.WEB_BAD_CLIENT)
    return value


def _clean(text: str) -> str:
    text = text.translate(_BIDI)
    return "".join(c for c in text if c in "\n\t" or unicodedata.category(c) != "Cc")


def check_name(value: object) -> str:
    """A display name: any characters (the page shows them as text), trimmed, one line, not empty."""
    if value is not None and not isinstance(value, str):
        raise UserError(texts.WEB_BAD_REQUEST)
    name = " ".join(_clean(value or "").split())
    if not name:
        raise UserError(texts.WEB_NEED_NAME)
    if len(name) > MAX_NAME_CHARS:
        raise UserError(texts.later.web_name_too_long(MAX_NAME_CHARS))
    return name


def check_text(value: object) -> str:
    if value is not None and not isinstance(value, str):
        raise UserError(texts.WEB_BAD_REQUEST)
    text = _clean(value or "").strip()
    if not text:
        raise UserError(texts.WEB_EMPTY_MESSAGE)
    if len(text) > MAX_MESSAGE_CHARS:
        raise UserError(texts.later.web_message_too_long(MAX_MESSAGE_CHARS))
    return text


def player_ref(client: str, name: str, lang: object = None) -> PlayerRef:
    """One browser (client id, kept in localStorage) and one name make a player, so two tabs with
    two names play as two people; the same name again is the same player."""
    digest = hashlib.sha256(name.casefold().encode()).hexdigest()[:16]
    # the page's language (bot.i18n normalises anything, so an odd value is English, never an error)
    return PlayerRef("web", f"{client}:{digest}", name, lang[:35] if isinstance(lang, str) else None)
