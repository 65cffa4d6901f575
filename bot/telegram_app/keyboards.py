"""Inline keyboards and their callback data.

A quiz button names its round and the guess, nothing more ("a:<round_id>:r" / "a:<round_id>:f"),
so buttons keep working after a restart and never carry the truth.
"""
from __future__ import annotations

import re
from datetime import date

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import texts
from bot.daily_keys import KEY_PATTERN, parse_round_key, round_key

ANOTHER_FACE = "face:another"
_ANSWER = re.compile(r"a:(\d{1,18}):([rf])")


def answer_data(round_id: int, guess_real: bool) -> str:
    return f"a:{round_id}:{'r' if guess_real else 'f'}"


def parse_answer(data: str | None) -> tuple[int, bool] | None:
    """(round_id, guess_real) from a quiz button, or None for anything else."""
    match = _ANSWER.fullmatch(data or "")
    if match is None:
        return None
    return int(match.group(1)), match.group(2) == "r"


def round_keyboard(round_id: int, t: texts.Texts = texts.EN) -> InlineKeyboardMarkup:
    """The buttons in the chat's language; their data is the same in every language."""
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(t.BUTTON_REAL, callback_data=answer_data(round_id, True)),
        InlineKeyboardButton(t.BUTTON_FAKE, callback_data=answer_data(round_id, False)),
    ]])


# Pair rounds: "p:<round_id>:a" ("A is real") or "p:<round_id>:b"; again the round, never the truth.
_PAIR_ANSWER = re.compile(r"p:(\d{1,18}):([ab])")


def pair_answer_data(round_id: int, a_is_real: bool) -> str:
    return f"p:{round_id}:{'a' if a_is_real else 'b'}"


def parse_pair_answer(data: str | None) -> tuple[int, bool] | None:
    """(round_id, a_is_real) from a pair button, or None for anything else."""
    match = _PAIR_ANSWER.fullmatch(data or "")
    if match is None:
        return None
    return int(match.group(1)), match.group(2) == "a"


def pair_keyboard(round_id: int, t: texts.Texts = texts.EN) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(t.BUTTON_A_REAL, callback_data=pair_answer_data(round_id, True)),
        InlineKeyboardButton(t.BUTTON_B_REAL, callback_data=pair_answer_data(round_id, False)),
    ]])


# Daily rounds: "d:<YYYYMMDD>:<n>:r" / "...:f" (about 15 bytes of Telegram's 64): the day and the
# round, never the truth; a button kept from yesterday still names its day.
_DAILY_ANSWER = re.compile(f"d:({KEY_PATTERN}):([rf])")


def daily_answer_data(day: date, number: int, guess_real: bool) -> str:
    return f"d:{round_key(day, number)}:{'r' if guess_real else 'f'}"


def parse_daily_answer(data: str | None) -> tuple[date, int, bool] | None:
    """(day, round number, guess_real) from a daily button, or None for anything else."""
    match = _DAILY_ANSWER.fullmatch(data or "")
    key = parse_round_key(match.group(1)) if match else None
    if match is None or key is None:
        return None
    return key[0], key[1], match.group(2) == "r"


def daily_keyboard(day: date, number: int, t: texts.Texts = texts.EN) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(t.BUTTON_REAL, callback_data=daily_answer_data(day, number, True)),
        InlineKeyboardButton(t.BUTTON_FAKE, callback_data=daily_answer_data(day, number, False)),
    ]])


def face_keyboard(t: texts.Texts = texts.EN) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(t.BUTTON_ANOTHER, callback_data=ANOTHER_FACE)]])
