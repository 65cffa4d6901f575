"""The texts an operator gives a photo pack (--source, --licence): shown at every quiz reveal.

A reveal must fit a Telegram caption (1,024 characters) with the truth and the share of right
answers, so each credit has a stated length, checked at import.
"""
from __future__ import annotations

CREDIT_LENGTH = 200


def check_credit(what: str, text: str) -> str:
    """text, stripped; ValueError with a message for the operator when it is too long."""
    text = text.strip()
    if len(text) > CREDIT_LENGTH:
        raise ValueError(f"The {what} text is too long ({len(text)} characters): {CREDIT_LENGTH} characters "
                         "at most, since it is shown with every reveal. Give a short name and a link instead.")
    return text
