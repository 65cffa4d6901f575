"""Which game /quiz starts: the words after it, read the same way on every front-end."""
from __future__ import annotations

from bot import texts
from bot.errors import UserError
from db.modes import MODES, PAIRS, SINGLE

MODE_WORDS = {"pairs": PAIRS, "pair": PAIRS, "single": SINGLE, "classic": SINGLE}


def split_quiz_args(args: list[str]) -> tuple[str, str | None]:
    """(mode, rounds text or None) from what follows /quiz, in any order: "pairs 5", "5", "".
    The rounds text is checked by the core (QuizService.start), which knows the chat's limits."""
    mode, rounds = SINGLE, None
    words = [a for a in args if a.strip()]
    if len(words) > 2:
        raise UserError(texts.QUIZ_USAGE)
    for word in words:
        if word.lower() in MODE_WORDS:
            mode = MODE_WORDS[word.lower()]
        elif rounds is None:
            rounds = word
        else:
            raise UserError(texts.QUIZ_USAGE)
    return mode, rounds


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise UserError(texts.QUIZ_USAGE)
    return mode
