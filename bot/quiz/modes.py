"""Which game /quiz starts: the words after it, read the same way on every front-end."""
from __future__ import annotations

from bot import texts
from bot.errors import UserError
from db.modes import MODES, PAIRS, SINGLE

MODE_WORDS = {"pairs": PAIRS, "pair": PAIRS, "single": SINGLE, "classic": SINGLE}


def parse_quiz_args(args: list[str]) -> tuple[str, str | None, bool]:
    """(mode, rounds text or None, hard) from what follows /quiz, in any order: "pairs 5", "hard 3",
    "5", "". The rounds text and the combination are checked by the core (QuizService.start),
    which knows the chat's limits."""
    mode, rounds, hard = SINGLE, None, False
    words = [a for a in args if a.strip()]
    if len(words) > 2:
        raise UserError(texts.QUIZ_USAGE)
    for word in words:
        if word.lower() in MODE_WORDS and mode == SINGLE:
            mode = MODE_WORDS[word.lower()]
        elif word.lower() == "hard" and not hard:
            hard = True
        elif rounds is None and word.lower() not in MODE_WORDS and word.lower() != "hard":
            rounds = word
        else:
            raise UserError(texts.QUIZ_USAGE)
    return mode, rounds, hard


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise UserError(texts.QUIZ_USAGE)
    return mode
